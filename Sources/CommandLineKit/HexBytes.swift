/// Bytes typed as hex, spaces allowed: `0a1b2c` or `0a 1b 2c`; `nil` when the text is not whole hex bytes.
public func parseHexBytes(_ text: String) -> [UInt8]? {
    let digits = Array(text.filter { !$0.isWhitespace }.utf8)
    guard digits.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(digits.count / 2)
    var i = 0
    while i < digits.count {
        guard let byte = UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
        bytes.append(byte)
        i += 2
    }
    return bytes
}
