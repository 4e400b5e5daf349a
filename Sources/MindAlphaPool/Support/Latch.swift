import NIOConcurrencyHelpers

/// A signal that fires once; tasks wait for it, cancellably and optionally with a time limit. What the pool's
/// "connected" wait and the load engine's "done" are built on, instead of polling.
package final class Latch: Sendable {
    private struct State {
        var fired = false
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = NIOLockedValueBox(State())

    package init() {}

    package var isFired: Bool { state.withLockedValue { $0.fired } }

    /// Fires it: every waiter resumes, and later waits return at once. Safe to call more than once.
    package func fire() {
        let waiters = state.withLockedValue { s -> [CheckedContinuation<Void, Never>] in
            guard !s.fired else { return [] }
            s.fired = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once it has fired, or as soon as the calling task is cancelled.
    package func wait() async {
        let id = state.withLockedValue { s -> Int in
            s.nextID += 1
            return s.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLockedValue { s -> Bool in
                    if s.fired || Task.isCancelled { return true }
                    s.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Waits at most `timeout`; returns whether it fired.
    package func wait(timeout: Duration) async -> Bool {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wait() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        return isFired
    }
}
