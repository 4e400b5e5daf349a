import CReadline
import Foundation
import MindAlphaREPL
import NIOConcurrencyHelpers

/// Lines from GNU readline at a terminal: editing, Ctrl-R, Tab completion, history kept across sessions.
///
/// Readline's state is touched by one line at a time (the REPL awaits each `readLine` before it records history or
/// asks for the next). That is what the `Sendable` claim rests on.
final class ReadlineReader: LineReader, @unchecked Sendable {
    let isInteractive = true
    private let historyFile: String?

    /// `historyFile` nil keeps no history.
    init(historyFile: String?) {
        self.historyFile = historyFile
        mp_setup_signals()
        mp_setup_completion()
        if let historyFile {
            read_history(historyFile)
        }
    }

    /// The words Tab offers.
    func setCompletions(_ words: [String]) {
        let array = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: max(words.count, 1))
        for (i, w) in words.enumerated() { array[i] = strdup(w) }
        mp_set_completion_words(array, Int32(words.count))
    }

    func readLine(prompt: String) async -> String? {
        // readline blocks its thread: give it one of its own, not one of the executor's.
        await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
            let thread = Thread {
                guard let raw = mp_readline(prompt) else {
                    continuation.resume(returning: nil)
                    return
                }
                let line = String(cString: raw)
                free(raw)
                continuation.resume(returning: line)
            }
            thread.start()
        }
    }

    /// Remembers a line (in memory and in the history file, at once, so a crash loses nothing).
    func remember(_ line: String) {
        guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { return }
        add_history(line)
        if let historyFile {
            append_history(1, historyFile)
            history_truncate_file(historyFile, 1000)
        }
    }

    /// Where history lives: `$MINDALPHA_POOL_HISTFILE` (`/dev/null`: none), else
    /// `$XDG_STATE_HOME/mindalpha-pool/history`, else `~/.local/state/mindalpha-pool/history`; the folder is made
    /// 0700 and the file 0600.
    static func historyPath(environment: [String: String]) -> String? {
        if let override = environment["MINDALPHA_POOL_HISTFILE"], !override.isEmpty {
            if override == "/dev/null" { return nil }
            return prepare(override)
        }
        let state = environment["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.local/state"
        let dir = state + "/mindalpha-pool"
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            Output.err("repl: cannot create \(dir) (\(error.localizedDescription)); history is not kept — set MINDALPHA_POOL_HISTFILE")
            return nil
        }
        return prepare(dir + "/history")
    }

    private static func prepare(_ path: String) -> String? {
        let fd = open(path, O_CREAT | O_WRONLY | O_APPEND, 0o600)
        guard fd >= 0 else {
            Output.err("repl: cannot open history file \(path): \(String(cString: strerror(errno))); history is not kept")
            return nil
        }
        fchmod(fd, 0o600)
        close(fd)
        return path
    }
}

/// Ctrl-C pressed since the last look.
enum Interrupts {
    static func pending() -> Bool { mp_take_sigint() != 0 }
}
