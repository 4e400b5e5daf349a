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
        /// Out of the schedule for `duration`, for `reason` (`5 failures in a row (requests timed out)`).
        case ejected(reason: String, duration: Duration)
        /// Outlier detection would have ejected it, but `ejected` of the `of` instances already are, the most the
        /// policy allows: it stays in the schedule (said once until it recovers).
        case notEjected(ejected: Int, of: Int)
        /// Back in the schedule after an ejection: its probe request succeeded.
        case returned
        /// Discovery stopped answering; the last good instance set stays in use.
        case discoveryFailed(String)
        /// Discovery answers again.
        case discoveryRecovered
        /// Discovery listed no instance at all; the last `kept` stay in use for up to `for` (it applies only if it
        /// persists).
        case emptySetHeldBack(kept: Int, for: Duration)
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

    /// One line: `127.0.0.1:9001 ejected for 1s: 5 failures in a row (connects failed: connection refused)`.
    public var description: String {
        let who = instance ?? "consul"
        switch kind {
        case let .joined(weight): return "\(who) joined (weight \(weight))"
        case .left: return "\(who) left"
        case let .reweighted(from, to): return "\(who) re-weighted \(from) → \(to)"
        case let .ejected(reason, duration):
            return "\(who) ejected for \(formatDuration(duration)): \(reason)"
        case let .notEjected(ejected, of):
            return "\(who) not ejected though failing: \(ejected) of \(of) instances already are, the most allowed (it stays in the schedule)"
        case .returned: return "\(who) returned to the schedule: its probe request succeeded"
        case let .discoveryFailed(error): return "consul unreachable, keeping the last instance set: \(error)"
        case .discoveryRecovered: return "consul answers again"
        case let .emptySetHeldBack(kept, grace):
            return "consul lists no passing instance; keeping the last \(kept) for up to \(formatDuration(grace)) (applied only if it persists)"
        }
    }

    /// A short name for the kind, as reports key it: `joined`, `left`, `reweighted`, `ejected`, `not_ejected`,
    /// `returned`, `consul_unreachable`, `consul_recovered`, `consul_empty`.
    public var kindName: String {
        switch kind {
        case .joined: "joined"
        case .left: "left"
        case .reweighted: "reweighted"
        case .ejected: "ejected"
        case .notEjected: "not_ejected"
        case .returned: "returned"
        case .discoveryFailed: "consul_unreachable"
        case .discoveryRecovered: "consul_recovered"
        case .emptySetHeldBack: "consul_empty"
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
