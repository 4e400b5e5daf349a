import Dispatch
import Foundation
import NIOConcurrencyHelpers

/// SIGINT and SIGTERM, caught instead of killing the process: each arrival runs the action set last, on a queue of
/// its own (so it runs however busy the rest of the process is).
enum Signals {
    private static let queue = DispatchQueue(label: "mindalpha.signals")
    /// The dispatch sources (kept alive for the process's life) and the action they run.
    private struct State: @unchecked Sendable {
        var sources: [DispatchSourceSignal] = []
        var action: (@Sendable (String) -> Void)?
    }
    private static let state = NIOLockedValueBox(State())

    /// From now on, each SIGINT or SIGTERM runs `action` with the signal's name (replacing the previous action).
    static func onTermination(_ action: @escaping @Sendable (String) -> Void) {
        state.withLockedValue { state in
            state.action = action
            guard state.sources.isEmpty else { return }
            for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler {
                    let current = Signals.state.withLockedValue { $0.action }
                    current?(name)
                }
                source.resume()
                state.sources.append(source)
            }
        }
    }

    /// Suspends until SIGINT or SIGTERM arrives; returns its name.
    static func waitForTermination() async -> String {
        await withCheckedContinuation { continuation in
            let once = ResumeOnce(continuation)
            onTermination { once.resume($0) }
        }
    }
}

/// Resumes a continuation the first time only.
final class ResumeOnce<Value: Sendable>: Sendable {
    private let continuation: NIOLockedValueBox<CheckedContinuation<Value, Never>?>

    init(_ continuation: CheckedContinuation<Value, Never>) { self.continuation = NIOLockedValueBox(continuation) }

    func resume(_ value: Value) {
        let c = continuation.withLockedValue { c in
            defer { c = nil }
            return c
        }
        c?.resume(returning: value)
    }
}
