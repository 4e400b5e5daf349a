import CommandLineKit
import Foundation

/// The `mindalpha-pool` executable: resolves the command line, runs the command, maps errors to exit codes.
@main
enum Entry {
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let program = Program.spec
        let code: ExitCode
        do {
            switch try program.resolve(arguments, environment: ProcessInfo.processInfo.environment) {
            case let .help(text):
                Output.out(text, terminator: "")
                code = .success
            case let .version(text):
                Output.out(text)
                code = .success
            case let .run(command, parsed):
                code = try await Program.run(command, parsed)
            }
        } catch let error as UsageError {
            Output.err("\(program.name): \(error.message)")
            Output.err(program.usageLine(for: error.command ?? arguments.first))
            code = .usage
        } catch let error as CommandError {
            Output.err("\(program.name): \(error.message)")
            code = error.code
        } catch {
            Output.err("\(program.name): \(error)")
            code = .failure
        }
        exit(code.rawValue)
    }
}

/// A failure a command reports with its own exit code.
struct CommandError: Error {
    var message: String
    var code: ExitCode

    init(_ message: String, code: ExitCode = .failure) {
        self.message = message
        self.code = code
    }
}
