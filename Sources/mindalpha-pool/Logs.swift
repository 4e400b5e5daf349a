import Foundation
import Logging

enum Logs {
    /// A logger that writes to stderr; `MINDALPHA_LOG_LEVEL` (trace…critical) sets the level, default warning.
    static func make(_ label: String) -> Logger {
        var logger = Logger(label: "mindalpha.\(label)") { StreamLogHandler.standardError(label: $0) }
        let level = ProcessInfo.processInfo.environment["MINDALPHA_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
        logger.logLevel = level ?? .warning
        return logger
    }
}
