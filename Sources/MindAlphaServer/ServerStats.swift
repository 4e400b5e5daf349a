import Synchronization

/// Counters of a running server, safe to read from any thread.
public final class ServerStats: Sendable {
    let connectionsAccepted = Atomic<Int>(0)
    let connectionsOpen = Atomic<Int>(0)
    let answered = Atomic<Int>(0)
    let dropped = Atomic<Int>(0)
    let closedByInjection = Atomic<Int>(0)
    let badFrames = Atomic<Int>(0)

    init() {}

    /// A consistent-enough copy of the counters.
    public var snapshot: Snapshot {
        Snapshot(
            connectionsAccepted: connectionsAccepted.load(ordering: .relaxed),
            connectionsOpen: connectionsOpen.load(ordering: .relaxed),
            answered: answered.load(ordering: .relaxed),
            dropped: dropped.load(ordering: .relaxed),
            closedByInjection: closedByInjection.load(ordering: .relaxed),
            badFrames: badFrames.load(ordering: .relaxed))
    }

    public struct Snapshot: Hashable, Sendable {
        public var connectionsAccepted: Int
        public var connectionsOpen: Int
        /// Requests answered (with scores, with an injected error, or with a plain body).
        public var answered: Int
        /// Requests never answered (`dropRate`).
        public var dropped: Int
        /// Connections closed instead of answering (`closeRate`).
        public var closedByInjection: Int
        /// Connections closed because a frame failed to decode.
        public var badFrames: Int
    }
}
