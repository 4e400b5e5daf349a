import Foundation

/// stdout for data, stderr for everything else, written at once (so pipes see each line as it comes). A reader
/// that went away (`… | head -1`) ends the process quietly with status 141, as a pipe's writer killed by SIGPIPE
/// reports, instead of a crash.
enum Output {
    static func out(_ text: String, terminator: String = "\n") {
        write(STDOUT_FILENO, text + terminator)
    }

    /// A share as the tables print it: `33.3%`.
    static func percent(_ share: Double) -> String { String(format: "%.1f%%", share * 100) }

    /// One JSON document, keys sorted, slashes as they are.
    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(value), as: UTF8.self)
    }

    /// `1 request`, `2 requests`.
    static func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

    static func err(_ text: String) {
        write(STDERR_FILENO, text + "\n")
    }

    /// Raw bytes to stderr (progress lines with their own carriage returns).
    static func errRaw(_ text: String) {
        write(STDERR_FILENO, text)
    }

    private static func write(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n >= 0 {
                offset += n
            } else if errno == EINTR || errno == EAGAIN {
                continue
            } else if errno == EPIPE {
                exit(141)
            } else {
                return  // a closed or full descriptor: nothing better to do with the text
            }
        }
    }
}
