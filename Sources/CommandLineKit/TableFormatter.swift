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
