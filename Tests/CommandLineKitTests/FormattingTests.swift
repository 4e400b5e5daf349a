import CommandLineKit
import Testing

@Suite struct HexBytesTests {
    @Test func hexWithOrWithoutSpaces() {
        #expect(parseHexBytes("0a1B2c") == [0x0a, 0x1b, 0x2c])
        #expect(parseHexBytes(" 0a 1b\t2c ") == [0x0a, 0x1b, 0x2c])
        #expect(parseHexBytes("") == [])
    }

    @Test func notWholeHexBytesIsNil() {
        #expect(parseHexBytes("0a1") == nil)
        #expect(parseHexBytes("zz") == nil)
        #expect(parseHexBytes("0x0a") == nil)
    }
}

@Suite struct FormatLatencyTests {
    @Test func threeSignificantDigitsAtMostAndNoTrailingZeros() {
        #expect(formatLatency(microseconds: 849.6) == "850µs")
        #expect(formatLatency(microseconds: 1250) == "1.25ms")
        #expect(formatLatency(microseconds: 1200) == "1.2ms")
        #expect(formatLatency(microseconds: 12_540) == "12.5ms")
        #expect(formatLatency(microseconds: 9_999) == "10ms")
        #expect(formatLatency(microseconds: 2_500_000) == "2.5s")
    }
}
