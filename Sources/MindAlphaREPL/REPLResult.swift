import MindAlphaBench
import MindAlphaPool
import MindAlphaWire

/// What a command did, typed: whether it failed and how long its request took are read from here, never from the
/// rendered output. ``REPLOutput/init(_:)`` renders it as text and as JSON.
public enum REPLResult: Sendable {
    /// An answer to `send` or `predict`.
    case answered(Answer)
    /// The pool took the request and it failed.
    case requestFailed(command: String, PoolError)
    /// Nothing was sent: a bad argument (`usage`), or no pool to send with (`unavailable`).
    case refused(command: String, message: String, errorClass: String)
    /// `use`: pinned to an instance, or back to weighted round robin (`nil`).
    case pinned(String?)
    case instances(PoolStatistics, pinned: String?)
    case pool(PoolStatistics)
    /// `stats` and `repeat`: requests, failures and their latencies.
    case summary(Summary)
    case timeout(Duration)
    case output(json: Bool)
    case help(String?)
    case quit

    public struct Answer: Sendable {
        public enum Kind: Sendable {
            /// `send`: any bytes.
            case raw
            /// `predict`: the decoded `Response`, or `nil` when the answer is not one.
            case prediction(Response?)
        }

        public var response: PoolResponse
        public var kind: Kind

        public var command: String {
            if case .raw = kind { return "send" }
            return "predict"
        }

        /// An answer without scores is what a failed prediction looks like.
        public var isInvalid: Bool {
            if case let .prediction(decoded) = kind { return decoded?.scores.isEmpty ?? true }
            return false
        }
    }

    public struct Summary: Sendable {
        public var command: String
        public var succeeded: Int
        public var failed: Int
        public var latencies: LatencyHistogram
        /// `repeat`: the first failure, as it was shown.
        public var firstFailure: String?
    }

    /// Whether the command failed (a script's exit status counts these).
    public var failed: Bool {
        switch self {
        case let .answered(answer): return answer.isInvalid
        case .requestFailed, .refused: return true
        case let .summary(s): return s.command == "repeat" && s.failed > 0
        default: return false
        }
    }

    /// The request's latency, for a command that sent one and got a valid answer.
    public var latencyNanoseconds: Int64? {
        if case let .answered(answer) = self, !answer.isInvalid { return answer.response.latencyNanoseconds }
        return nil
    }
}
