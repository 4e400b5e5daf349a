/// How the tool writes durations, latencies and tables, in one place for the pool's messages, the bench report,
/// the REPL and the commands.

/// A duration as a user would write it: `5s`, `250ms`, `1.5s`, `2m`, `90us`.
public func formatDuration(_ duration: Duration) -> String {
    let (seconds, attos) = duration.components
    let nanos = Double(seconds) * 1e9 + Double(attos) / 1e9
    for (unit, scale) in [("h", 3600e9), ("m", 60e9), ("s", 1e9), ("ms", 1e6), ("us", 1e3)] where abs(nanos) >= scale {
        let value = nanos / scale
        if unit == "h" || unit == "m", value != value.rounded() { continue }
        return formatNumber((value * 1000).rounded() / 1000) + unit
    }
    return formatNumber(nanos) + "ns"
}

/// A latency as the tool prints it: `850µs`, `1.25ms`, `12.5ms`, `2.5s` (three significant digits at most).
public func formatLatency(microseconds us: Double) -> String {
    func trimmed(_ v: Double) -> String {
        let scale = v < 10 ? 100.0 : v < 100 ? 10.0 : 1.0
        return formatNumber((v * scale).rounded() / scale)
    }
    if us < 1000 { return "\(Int(us.rounded()))µs" }
    if us < 1_000_000 { return trimmed(us / 1000) + "ms" }
    return trimmed(us / 1_000_000) + "s"
}

/// `5`, `2.5`: a whole number without its `.0`.
private func formatNumber(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
}

/// Text columns separated by two spaces, as `consul members` and `docker ps` print them: left-aligned, or
/// right-aligned from column `rightAlignedFrom` on (numbers); no line ends in spaces.
public enum TableFormatter {
    public static func render(header: [String], rows: [[String]], rightAlignedFrom: Int = .max) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            var line = row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i >= rightAlignedFrom ? pad + cell : cell + pad
            }.joined(separator: "  ")
            while line.last == " " { line.removeLast() }
            return line
        }.joined(separator: "\n")
    }
}

/// `1,234,567`: an integer with its thousands grouped by commas.
public func formatGrouped(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return (n < 0 ? "-" : "") + out
}
