/// A prediction response: the FlatBuffers root `Response` (docs/protocol.md §5.3).
public struct Response: Hashable, Sendable {
    public var version: String?
    /// Must be present for the Go client, which otherwise panics.
    public var tensor: Tensor?
    /// Logged by clients at error level when non-empty.
    public var debugInfo: String?

    public init(version: String? = "v2", tensor: Tensor? = nil, debugInfo: String? = nil) {
        self.version = version
        self.tensor = tensor
        self.debugInfo = debugInfo
    }

    /// The scores, one per row (`tensor.scores`); empty when there is no tensor.
    public var scores: [Float] { tensor?.scores ?? [] }

    public struct Tensor: Hashable, Sendable {
        /// Never read by the Go client.
        public var values: [Int8]
        public var scores: [Float]

        public init(values: [Int8] = [], scores: [Float]) {
            self.values = values
            self.scores = scores
        }
    }
}
