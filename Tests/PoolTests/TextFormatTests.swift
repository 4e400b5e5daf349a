import MindAlphaPool
import Testing

/// Durations, latencies and tables as every part of the tool writes them.
@Suite struct TextFormatTests {
    @Test func durationsFormatAsWritten() {
        let cases: [(Duration, String)] = [
            (.seconds(5), "5s"), (.milliseconds(250), "250ms"), (.milliseconds(1500), "1.5s"), (.seconds(120), "2m"),
            (.seconds(90), "90s"), (.microseconds(90), "90us"), (.nanoseconds(7), "7ns"), (.zero, "0ns"), (.seconds(7200), "2h"),
        ]
        for (duration, text) in cases { #expect(formatDuration(duration) == text) }
    }
}

extension TextFormatTests {
    @Test func threeSignificantDigitsAtMostAndNoTrailingZeros() {
        #expect(formatLatency(microseconds: 849.6) == "850µs")
        #expect(formatLatency(microseconds: 1250) == "1.25ms")
        #expect(formatLatency(microseconds: 1200) == "1.2ms")
        #expect(formatLatency(microseconds: 12_540) == "12.5ms")
        #expect(formatLatency(microseconds: 9_999) == "10ms")
        #expect(formatLatency(microseconds: 2_500_000) == "2.5s")
    }
}
