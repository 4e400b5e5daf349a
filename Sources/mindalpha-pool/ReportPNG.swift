import Foundation

/// `report plot --format png`: the SVG rendered by rsvg-convert (Debian's librsvg2-bin), where it is installed.
enum ReportPNG {
    static func render(_ svg: String, to file: String) throws {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .map { "\($0)/rsvg-convert" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let converter = path else {
            throw CommandError("--format png needs rsvg-convert, which is not installed (Debian: apt-get install librsvg2-bin); --format svg writes the picture without it")
        }
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("mindalpha-plot-\(getpid()).svg")
        try ReportCommand.write(svg, to: input.path)
        defer { try? FileManager.default.removeItem(at: input) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: converter)
        p.arguments = ["--format", "png", "--output", file, input.path]
        let errors = Pipe()
        p.standardError = errors
        do { try p.run() } catch { throw CommandError("could not start rsvg-convert: \(error.localizedDescription)") }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw CommandError("rsvg-convert could not render the plot: \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }
}
