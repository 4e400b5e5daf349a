import MindAlphaWire
import Testing

@Suite struct BKDRHashTests {
    // docs/protocol.md §6.
    @Test(arguments: [
        ("", UInt64(0)),
        ("a", 97),
        ("abc", 1_677_554),
        ("265366bf", 33_378_102_259_615_746),
        ("b1feb7c7", 65_133_743_764_055_467),
        ("é", 18_446_744_073_709_543_538),
        ("none", 249_209_392),
    ])
    func vectors(input: String, expected: UInt64) {
        #expect(bkdrHash(input) == expected)
    }

    @Test func highBytesAreSignExtended() {
        #expect(Int64(bitPattern: bkdrHash("é")) == -8078)
    }
}
