/// The BKDR string hash the Go client puts in request cells (docs/protocol.md §5.6).
///
/// `h = h·131 + b` over the UTF-8 bytes, modulo 2⁶⁴, where each byte is sign-extended from 8 bits
/// (a byte ≥ 0x80 adds `b − 256`).
@inlinable
public func bkdrHash(_ string: String) -> UInt64 {
    var h: UInt64 = 0
    for b in string.utf8 {
        h = h &* 131 &+ UInt64(bitPattern: Int64(Int8(bitPattern: b)))
    }
    return h
}
