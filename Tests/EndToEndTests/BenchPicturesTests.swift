import Foundation
import MindAlphaBench
import TestSupport
import Testing

/// A run's pictures from the command line: `bench --hgrm`, `report export --hgrm`, `report plot` to SVG and to PNG
/// through a real renderer (rsvg-convert), and the text report's charts in a UTF-8 and a C locale.
extension BenchTests {
    @Test func aRunsPicturesComeOutAsSVGPNGHgrmAndTerminalCharts() async throws {
        let (server, ports) = try await Self.serve(2)
        defer { server.terminate() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pictures-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let hgrm = dir.appendingPathComponent("run.hgrm").path
        let result = try await Tool.run(["bench", "--target", "127.0.0.1:\(ports[0])@100", "--target", "127.0.0.1:\(ports[1])@300",
                                         "--duration", "2s", "--hgrm", hgrm, "--json"])
        let report = try Self.report(result)
        let json = dir.appendingPathComponent("run.json").path
        try result.stdout.write(toFile: json, atomically: true, encoding: .utf8)
        #expect(report.command?.hasPrefix("mindalpha-pool bench --target 127.0.0.1:") == true)
        // A file it cannot write is said, and the run exits 1 after its report.
        let unwritable = try await Tool.run(["bench", "--target", "127.0.0.1:\(ports[0])", "-n", "10", "--hgrm", "/nonexistent/run.hgrm"])
        #expect(unwritable.status == 1 && unwritable.stderr.contains("cannot write --hgrm '/nonexistent/run.hgrm'") && unwritable.stdout.contains("requests"))

        // The .hgrm: HdrHistogram's lines; its p99 is the report's; report export writes the same.
        let text = try String(contentsOfFile: hgrm, encoding: .utf8)
        let lines = try PicturesTestsSupport.hgrm(text)
        let p99 = try #require(lines.first { $0.percentile >= 0.99 })
        #expect(p99.percentile == 0.99 && abs(p99.value * 1000 - report.latency.p99) <= 0.6, "\(p99) vs \(report.latency.p99)")
        let exported = try await Tool.run(["report", "export", json, "--hgrm", "-"])
        #expect(exported.status == 0 && exported.stdout == text)

        // The SVG, and the PNG a real renderer makes of it.
        let svg = dir.appendingPathComponent("run.svg").path
        let plot = try await Tool.run(["report", "plot", json, "--out", svg])
        #expect(plot.status == 0, "\(plot.stderr)")
        let drawing = try String(contentsOfFile: svg, encoding: .utf8)
        #expect(drawing.hasPrefix("<?xml") && drawing.contains("id=\"spectrum\"") && drawing.contains("id=\"timeline\"") && drawing.contains("id=\"shares\""))
        let png = dir.appendingPathComponent("run.png").path
        let rendered = try await Tool.run(["report", "plot", json, json, "--out", png, "--format", "png"])
        try #require(rendered.status == 0, "\(rendered.stderr) (rsvg-convert comes from librsvg2-bin: scripts/bootstrap.sh --tests)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
        #expect(bytes.count > 10_000 && bytes.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        // Without the renderer on PATH: a clear message, exit 1, no file.
        let none = try await Tool.shell("PATH=/nonexistent \"$BIN\" report plot \(json) --out \(dir.path)/none.png --format png")
        #expect(none.status == 1 && none.stderr.contains("needs rsvg-convert") && !FileManager.default.fileExists(atPath: "\(dir.path)/none.png"))

        // The text report's charts: block bars in a UTF-8 locale, ASCII in C, 80 columns either way.
        for (locale, unicode) in [("C.UTF-8", true), ("C", false)] {
            let shown = try await Tool.shell("LANG=\(locale) LC_ALL= LC_CTYPE= \"$BIN\" report merge \(json)")
            #expect(shown.status == 0)
            let charts = shown.stdout.split(separator: "\n").drop { !$0.hasPrefix("  latency histogram") }
                .filter { !$0.contains("INSTANCE") && !$0.hasPrefix("  127.0.0.1:") || $0.contains("% of ") }
            #expect(charts.count > 15, "\(shown.stdout)")
            #expect(charts.allSatisfy { $0.count <= 80 }, "\(charts.filter { $0.count > 80 })")
            #expect(charts.contains { $0.contains("█") } == unicode && charts.allSatisfy { $0.allSatisfy(\.isASCII) } == !unicode, "\(locale): \(charts)")
        }
    }
}

extension BenchTests {
    /// At a terminal, as a person watches it: the progress line says elapsed of total and draws the last seconds'
    /// p99 as a sparkline.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux"), "needs tmux (scripts/bootstrap.sh --tests)"))
    func theProgressLineShowsElapsedOfTotalAndAP99Sparkline() async throws {
        let (server, ports) = try await Self.serve(1)
        defer { server.terminate() }
        let terminal = ReplTests.Terminal()
        defer { terminal.stop() }
        try terminal.start("LANG=C.UTF-8 \(ReplTests.Terminal.quote(Tool.binary.path)) bench --target 127.0.0.1:\(ports[0]) --duration 6s --conns 2")
        // Four seconds in, three full seconds are behind it: three marks at least.
        let screen = try await terminal.waitFor("4s/6s")
        let line = try #require(screen.split(separator: "\n").first { $0.contains("4s/6s") }, "\(screen)")
        let marks = line.filter { "▁▂▃▄▅▆▇█".contains($0) }
        #expect(marks.count >= 3 && line.contains("req/s  p99 "), "\(line)")
        try await terminal.waitFor("EXITED 0")
    }
}

/// The `.hgrm` reader both test targets use.
enum PicturesTestsSupport {
    static func hgrm(_ text: String) throws -> [(value: Double, percentile: Double, count: Int)] {
        text.split(separator: "\n").dropFirst().filter { !$0.hasPrefix("#") }.compactMap { row in
            let f = row.split(separator: " ")
            guard f.count >= 3, let v = Double(f[0]), let p = Double(f[1]), let c = Int(f[2]) else { return nil }
            return (v, p, c)
        }
    }
}
