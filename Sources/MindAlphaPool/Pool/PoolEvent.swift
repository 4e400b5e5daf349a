import NIOCore

/// Something that happened to the pool's fleet, and when: what a load report lists under its events.
public struct PoolEvent: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// The instance entered the pool after the first instance set (discovery added it).
        case joined(weight: Int)
        /// The instance left discovery; its requests in flight still finish.
        case left
        /// The instance's weight changed; the schedule uses the new one from the next pick.
        case reweighted(from: Int, to: Int)
        /// Out of the schedule after `failures` connection failures in a row (the last one `cause`), for `duration`.
        case ejected(failures: Int, cause: String, duration: Duration)
        /// Back in the schedule after an ejection (at the moment its ejection ran out).
        case returned
        /// Discovery stopped answering; the last good instance set stays in use.
        case discoveryFailed(String)
        /// Discovery answers again.
        case discoveryRecovered
    }

    public var at: NIODeadline
    /// The instance (`host:port`) for instance events; `nil` for discovery events.
    public var instance: String?
    public var kind: Kind

    public init(at: NIODeadline, instance: String?, kind: Kind) {
        self.at = at
        self.instance = instance
        self.kind = kind
    }

    /// One line: `127.0.0.1:9001 ejected after 3 connection failures in a row (connection refused); out for 1s`.
    public var description: String {
        let who = instance ?? "consul"
        switch kind {
        case let .joined(weight): return "\(who) joined (weight \(weight))"
        case .left: return "\(who) left"
        case let .reweighted(from, to): return "\(who) re-weighted \(from) → \(to)"
        case let .ejected(failures, cause, duration):
            return "\(who) ejected after \(failures) connection failure\(failures == 1 ? "" : "s") in a row (\(cause)); out for \(PoolError.format(duration))"
        case .returned: return "\(who) returned to the schedule"
        case let .discoveryFailed(error): return "consul unreachable, keeping the last instance set: \(error)"
        case .discoveryRecovered: return "consul answers again"
        }
    }

    /// A short name for the kind, as reports key it: `joined`, `left`, `reweighted`, `ejected`, `returned`,
    /// `consul_unreachable`, `consul_recovered`.
    public var kindName: String {
        switch kind {
        case .joined: "joined"
        case .left: "left"
        case .reweighted: "reweighted"
        case .ejected: "ejected"
        case .returned: "returned"
        case .discoveryFailed: "consul_unreachable"
        case .discoveryRecovered: "consul_recovered"
        }
    }
}

/// The most recent events, bounded: the oldest go first once `capacity` is reached (and are counted).
struct PoolEventLog: Sendable {
    static let capacity = 10_000
    private(set) var events = CircularBuffer<PoolEvent>(initialCapacity: 16)
    private(set) var forgotten = 0

    mutating func append(_ event: PoolEvent) {
        if events.count == Self.capacity {
            events.removeFirst()
            forgotten += 1
        }
        events.append(event)
    }
}
