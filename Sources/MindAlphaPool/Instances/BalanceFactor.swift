/// The weight a MindAlpha-Serving Go client gives an instance, from `Service.Meta["balanceFactor"]`
/// (docs/protocol.md §3.2): absent → 200; an integer > 0 → that integer; an integer ≤ 0 → 200;
/// anything Go's `strconv.Atoi` rejects (`""`, `" 5"`, `"5.0"`, `"0x10"`, `"1_000"`, overflow) → **0**.
public enum BalanceFactor {
    /// The weight when the key is absent or not positive.
    public static let defaultWeight = 200

    public static func weight(_ raw: String?) -> Int {
        guard let raw else { return defaultWeight }
        guard let value = atoi(raw) else { return 0 }
        return value > 0 ? value : defaultWeight
    }

    /// Go's `strconv.Atoi` on a 64-bit platform: an optional sign, then one or more ASCII digits, nothing else.
    public static func atoi(_ text: String) -> Int? {
        var utf8 = Substring(text).utf8[...]
        var negative = false
        if let first = utf8.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            negative = first == UInt8(ascii: "-")
            utf8 = utf8.dropFirst()
        }
        guard !utf8.isEmpty else { return nil }
        var magnitude: UInt64 = 0
        for byte in utf8 {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            magnitude = sum
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int.min : -Int(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int(magnitude)
    }
}
