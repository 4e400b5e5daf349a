#if os(Linux)
import Synchronization

/// The pool's direct engine: a few ``DirectClientLoop`` threads (`threads`, one per core the load should use), each
/// owning the connections it opened; connections are spread over them in turn.
final class DirectEngine: Sendable {
    let loops: [DirectClientLoop]
    private let turn = Atomic<Int>(0)

    init(threads: Int) {
        loops = (0..<max(1, threads)).map { DirectClientLoop(name: "pool-direct-\($0)") }
        for loop in loops { loop.start() }
    }

    /// The loop to open the next connection on.
    func next() -> DirectClientLoop {
        loops.count == 1 ? loops[0] : loops[turn.add(1, ordering: .relaxed).oldValue % loops.count]
    }

    /// Ends every loop (what they still hold is closed) and waits for their threads.
    func shutdown() async {
        for loop in loops { loop.stop() }
        for loop in loops { await loop.finished.wait() }
    }
}
#endif
