import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `mindalpha-pool` binary, as a user or a script would.
public enum Tool {
    /// The binary beside the test bundle (`swift build` puts both in the same folder), or `$MINDALPHA_POOL_BIN`.
    public static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["MINDALPHA_POOL_BIN"] { return URL(fileURLWithPath: path) }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("mindalpha-pool")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir.deleteLastPathComponent()
        }
        return repository.appendingPathComponent(".build/debug/mindalpha-pool")
    }

    /// The repository root.
    public static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String

        public init(status: Int32, stdout: String, stderr: String) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }
    }

    /// Runs to completion, with no standard input and none of the tool's own variables from this environment.
    public static func run(_ arguments: [String], environment: [String: String] = [:], input: String? = nil, timeout: TimeInterval = 60) async throws -> Result {
        let running = try start(arguments, environment: environment, input: input)
        try await running.wait(timeout: timeout)
        return Result(status: running.process.terminationStatus, stdout: running.stdout, stderr: running.stderr)
    }

    /// Runs any program to completion (a compiler, openssl), waiting without holding a thread.
    /// `directory`, when given, is its working directory.
    public static func exec(_ program: String, _ arguments: [String], in directory: URL? = nil, timeout: TimeInterval = 60) async throws -> Result {
        try await complete("/usr/bin/env", [program] + arguments, environment: nil, directory: directory, timeout: timeout)
    }

    /// Runs a bash script in which `$BIN` is the binary (for what needs a shell around it, such as `ulimit`).
    public static func shell(_ script: String, timeout: TimeInterval = 60) async throws -> Result {
        let environment = ProcessInfo.processInfo.environment
            .filter { !$0.key.hasPrefix("CONSUL_") && !$0.key.hasPrefix("MINDALPHA_") }
            .merging(["BIN": binary.path]) { $1 }
        return try await complete("/bin/bash", ["-c", script], environment: environment, directory: nil, timeout: timeout)
    }

    private static func complete(_ path: String, _ arguments: [String], environment: [String: String]?, directory: URL?, timeout: TimeInterval) async throws -> Result {
        let running = try launch(URL(fileURLWithPath: path), arguments, environment: environment, directory: directory, input: nil)
        try await running.wait(timeout: timeout)
        return Result(status: running.process.terminationStatus, stdout: running.stdout, stderr: running.stderr)
    }

    /// Starts a command and returns at once; for long-running ones such as `serve`.
    /// `input`, when given, is the process's standard input (then closed); otherwise it reads nothing.
    public static func start(_ arguments: [String], environment: [String: String] = [:], input: String? = nil) throws -> Running {
        let environment = ProcessInfo.processInfo.environment
            .filter { !$0.key.hasPrefix("CONSUL_") && !$0.key.hasPrefix("MINDALPHA_") }
            .merging(environment) { $1 }
        return try launch(binary, arguments, environment: environment, directory: nil, input: input)
    }

    /// Starts any program (one a test built, such as the C reference server) and returns at once.
    public static func start(program: URL, _ arguments: [String]) throws -> Running {
        try launch(program, arguments, environment: nil, directory: nil, input: nil)
    }

    private static func launch(_ program: URL, _ arguments: [String], environment: [String: String]?, directory: URL?, input: String?) throws -> Running {
        let process = Process()
        process.executableURL = program
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = directory }
        let running = Running(process: process)
        process.standardOutput = running.out.pipe
        process.standardError = running.err.pipe
        let stdin = input.map { _ in Pipe() }
        process.standardInput = stdin ?? FileHandle.nullDevice
        try process.run()
        if let stdin, let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        return running
    }

    /// A started process whose output is collected as it comes.
    public final class Running: Sendable {
        public let process: Process
        let out = Collected()
        let err = Collected()

        init(process: Process) { self.process = process }

        public var stdout: String { out.text }
        public var stderr: String { err.text }

        /// The first `count` lines of stdout, waiting up to `timeout` seconds for them (without holding a thread:
        /// the test's cooperative threads are few, and a blocked one starves the tests beside it).
        public func lines(_ count: Int, timeout: TimeInterval = 30) async throws -> [String] {
            let deadline = Date().addingTimeInterval(timeout)
            while true {
                let lines = stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
                if lines.count >= count { return lines.prefix(count).map(String.init) }
                guard process.isRunning, Date() < deadline else {
                    throw ToolError("wanted \(count) lines of stdout; got \(stdout.debugDescription), stderr \(stderr.debugDescription)")
                }
                try await Task.sleep(for: .milliseconds(10))
            }
        }

        /// Waits for the exit, without holding a thread; kills the process and throws after `timeout` seconds.
        public func wait(timeout: TimeInterval = 30) async throws {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning {
                guard Date() < deadline else {
                    kill(process.processIdentifier, SIGKILL)
                    throw ToolError("still running after \(timeout)s")
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            await out.drain()
            await err.drain()
        }

        /// Closes this end of the process's stdout, as a reader that has read enough does (`| head -1`).
        public func closeStdout() throws {
            try out.close()
        }

        /// Sends SIGTERM and goes on (for a `defer`, which cannot wait): the process ends on its own.
        public func terminate() { kill(process.processIdentifier, SIGTERM) }

        /// Sends `signal` and waits for the exit; returns the exit status.
        public func stop(_ signal: Int32 = SIGTERM, timeout: TimeInterval = 30) async throws -> Int32 {
            kill(process.processIdentifier, signal)
            try await wait(timeout: timeout)
            return process.terminationStatus
        }

        deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
    }

    /// A pipe's bytes, gathered by a thread of its own that reads until end of file.
    ///
    /// Not Foundation's `readabilityHandler`: turning that dispatch source off and closing its descriptor
    /// races with the source's cancellation, and once in a while crashed the test runner in libdispatch.
    /// Here one thread owns the read end from first byte to close; `close()` wakes it through a second pipe.
    final class Collected: @unchecked Sendable {
        let pipe = Pipe()
        private let wake = Pipe()
        private let lock = NSLock()
        private var data = Data()
        private var finished = false

        init() {
            let reading = pipe.fileHandleForReading, waking = wake.fileHandleForReading
            let thread = Thread { [self] in
                var buffer = [UInt8](repeating: 0, count: 65_536)
                var fds = [pollfd(fd: reading.fileDescriptor, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: waking.fileDescriptor, events: Int16(POLLIN), revents: 0)]
                loop: while true {
                    guard poll(&fds, 2, -1) >= 0 || errno == EINTR else { break }
                    if fds[1].revents != 0 { break }  // close(): stop reading
                    guard fds[0].revents != 0 else { continue }
                    let n = buffer.withUnsafeMutableBytes { Glibc.read(reading.fileDescriptor, $0.baseAddress, $0.count) }
                    switch n {
                    case ..<0 where errno == EINTR: continue
                    case ...0: break loop  // end of file (or an error: nothing more will come)
                    default: lock.withLock { data.append(contentsOf: buffer[..<n]) }
                    }
                }
                try? reading.close()
                try? waking.close()
                lock.withLock { finished = true }
            }
            thread.start()
        }

        /// Stops reading and closes the read end: the writer meets a closed pipe.
        func close() throws {
            try wake.fileHandleForWriting.close()
            while !lock.withLock({ finished }) { usleep(1_000) }
        }

        /// Waits (without holding a thread) until the writer's end is closed, as it is once the process exited
        /// (unless a child it left behind still holds it: then after `timeout` seconds, with what came).
        func drain(timeout: TimeInterval = 10) async {
            let deadline = Date().addingTimeInterval(timeout)
            while !lock.withLock({ finished }), Date() < deadline { try? await Task.sleep(for: .milliseconds(5)) }
        }

        var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
    }

    public struct ToolError: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }
}
