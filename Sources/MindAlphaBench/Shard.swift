/// One agent's part of a load that several agents apply together (`bench --shard i/N`): shard `index` of `count`,
/// counted from 1. Counts split so that the N parts add up to the whole exactly (the first `total % N` shards take one
/// more); rates split evenly.
public struct Shard: Sendable, Hashable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    /// The most agents one run coordinates.
    public static let maxCount = 1_000

    /// The whole load, as one agent alone.
    public static let whole = Shard(uncheckedIndex: 1, count: 1)

    private init(uncheckedIndex index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// `index` of `count`, 1 ≤ index ≤ count ≤ ``maxCount``.
    public init(index: Int, count: Int) throws(ShardError) {
        guard (1...Self.maxCount).contains(count) else { throw ShardError("the number of shards must be 1 to \(Self.maxCount), not \(count)") }
        guard (1...count).contains(index) else { throw ShardError("shard \(index) does not exist in \(count): they are numbered 1 to \(count)") }
        self.init(uncheckedIndex: index, count: count)
    }

    /// `i/N`, as `--shard` takes it.
    public init(parsing text: String) throws(ShardError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw ShardError("'\(text)' is not a shard: write i/N, the agent's number and how many there are (1/3, 2/3, 3/3)")
        }
        try self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// This shard's part of `total`: the N parts add up to `total`.
    public func part(of total: Int) -> Int {
        total / count + (index <= total % count ? 1 : 0)
    }

    /// This shard's part of a rate.
    public func part(of rate: Double) -> Double { rate / Double(count) }
}

/// A shard that cannot be: says what to write instead.
public struct ShardError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
