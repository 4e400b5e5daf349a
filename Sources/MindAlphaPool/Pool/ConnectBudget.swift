import NIOConcurrencyHelpers
import NIOCore

/// How many connects may be in progress at once; the rest wait their turn, first come first served. Ten thousand
/// connects started at once on one event loop time out while the loop works through their completions; started a
/// few dozen at a time, each one's connect timeout measures the instance, not this client.
final class ConnectBudget: Sendable {
    private struct State {
        var running = 0
        var waiting = CircularBuffer<(start: @Sendable () -> Void, cancel: @Sendable () -> Void)>()
    }

    let limit: Int
    private let state = NIOLockedValueBox(State())

    init(limit: Int) { self.limit = max(1, limit) }

    /// Runs `start` now if the budget allows, else when a running connect is ``done()``; `cancel` instead if the
    /// waiting ones are given up first (``cancelWaiting()``).
    func run(_ start: @escaping @Sendable () -> Void, cancel: @escaping @Sendable () -> Void) {
        let now = state.withLockedValue { s -> Bool in
            if s.running < limit {
                s.running += 1
                return true
            }
            s.waiting.append((start, cancel))
            return false
        }
        if now { start() }
    }

    /// A connect finished (either way): the next one waiting starts.
    func done() {
        let next = state.withLockedValue { s -> (@Sendable () -> Void)? in
            if let next = s.waiting.popFirst() { return next.start }
            s.running -= 1
            return nil
        }
        next?()
    }

    /// Gives up every connect still waiting for its turn (at shutdown): each one's `cancel` runs.
    func cancelWaiting() {
        let waiting = state.withLockedValue { s in
            defer { s.waiting.removeAll() }
            return Array(s.waiting)
        }
        for w in waiting { w.cancel() }
    }
}
