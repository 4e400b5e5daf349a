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
