import MindAlphaREPL
import Testing

/// A line becomes a typed command before anything is sent: what is wrong with it is said without a pool.
@Suite struct REPLCommandTests {
    static func parse(_ line: String) -> REPLCommand? { try? REPLCommand.parse(line)?.get() }
    static func error(_ line: String) -> String? {
        if case let .failure(e)? = REPLCommand.parse(line) { return e.message }
        return nil
    }

    @Test func linesBecomeCommands() {
        #expect(REPLCommand.parse("   ") == nil && REPLCommand.parse("# a comment") == nil)
        #expect(Self.parse("send hello world") == .send(.text("hello world")))
        #expect(Self.parse("send hex 0a 1b") == .send(.bytes([0x0a, 0x1b])))
        #expect(Self.parse("send @body.bin") == .send(.file("body.bin")))
        #expect(Self.parse("predict m a=1 b=2 level=1") == .predict(model: "m", columns: [.init(name: "a", value: "1"), .init(name: "b", value: "2")], level: 1))
        #expect(Self.parse("use any") == .use(nil) && Self.parse("use 9001") == .use("9001"))
        #expect(Self.parse("repeat 3 send x") == .repeat(3, .send(.text("x"))))
        #expect(Self.parse("timeout") == .timeout(nil) && Self.parse("timeout 1m30s") == .timeout(.seconds(90)))
        #expect(Self.parse("set output json") == .output(json: true))
        #expect(Self.parse("HELP send") == .help("send") && Self.parse("exit") == .quit)
    }

    @Test func wrongLinesSayWhatIsWrong() {
        #expect(Self.error("sned x") == "unknown command 'sned' — did you mean 'send'? (help lists them)")
        #expect(Self.error("send hex 0a1") == "'0a1' is not hex bytes (e.g. send hex 0a 1b 2c)")
        #expect(Self.error("predict a=1") == "predict needs a model and columns: predict <model> col=value [col=value …] [level=N]")
        #expect(Self.error("predict m level=7 a=1") == "level must be 0, 1 or 2")
        #expect(Self.error("repeat 0 send x") == "repeat <N> <command>, N from 1 to 1,000,000")
        #expect(Self.error("repeat 2 repeat 2 send x") == "repeat cannot repeat itself")
        #expect(Self.error("repeat 2 sned x") == "unknown command 'sned' — did you mean 'send'? (help lists them)")
        #expect(Self.error("timeout 5x") == "'5x' is not a duration (e.g. 500ms, 2s)")
        #expect(Self.error("help sed") == "no command 'sed' — did you mean 'send'?")
    }

    @Test func failureIsReadFromTheResultNotItsRendering() {
        let refused = REPLResult.refused(command: "use", message: "no instance 'x'", errorClass: "usage")
        #expect(refused.failed && refused.latencyNanoseconds == nil)
        #expect(REPLOutput(refused).jsonLine == #"{"class":"usage","command":"use","error":"no instance 'x'","ok":false}"#)
        #expect(!REPLResult.pinned(nil).failed && !REPLResult.help(nil).failed)
    }
}
