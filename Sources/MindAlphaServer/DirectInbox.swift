#if os(Linux)
import CEpoll
import Glibc
import NIOConcurrencyHelpers
import Synchronization

/// How the direct engine's loops talk to each other: each has one, with an eventfd that wakes it. A loop that accepts
/// a connection hands it to the next loop in turn (the kernel wakes one loop per connection, and it would otherwise
/// keep them all); `stop` asks the loop to stop.
final class DirectInbox: Sendable {
    /// An eventfd: written to wake the loop.
    let wake: Int32
    private let handed = NIOLockedValueBox<[Int32]>([])
    private let stopping = Atomic<Bool>(false)

    init() { wake = mp_eventfd() }

    /// Gives the loop a connection to own.
    func hand(_ fd: Int32) {
        handed.withLockedValue { $0.append(fd) }
        poke()
    }

    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        poke()
    }

    var stopRequested: Bool { stopping.load(ordering: .sequentiallyConsistent) }

    /// The connections handed since the last call.
    func take() -> [Int32] { handed.withLockedValue { fds in defer { fds = [] }; return fds } }

    /// Consumes the wake-up.
    func drainWake() {
        var count: UInt64 = 0
        _ = Glibc.read(wake, &count, 8)
    }

    private func poke() {
        var one: UInt64 = 1
        _ = Glibc.write(wake, &one, 8)
    }
}

/// Whose turn it is to own the next accepted connection.
final class DirectTurn: Sendable {
    private let counter = Atomic<Int>(0)

    func next(of count: Int) -> Int { counter.add(1, ordering: .relaxed).oldValue % count }
}
#endif
