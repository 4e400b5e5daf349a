import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import MindAlphaBench
import MindAlphaPool
import Testing

/// The pictures of a run: the SVG of `report plot`, the `.hgrm` text, the terminal charts — against a synthetic run
/// whose spectrum is known (latencies 1, 2, … 10,000 µs, once each).
@Suite struct PicturesTests {
    static func knownRun(shift: UInt64 = 0) -> BenchReport {
        var h = LoadRecorder.makeHistogram()
        for us in 1...10_000 { _ = h.record(UInt64(us) * 1_000 + shift) }
        var r = BenchReportTests.report(ok: 10_000, seconds: 3)
        r.histogram = BenchReport.buckets(h)
        r.latency = BenchReport.summary(h)
        r.instances = BenchReport.rows([
            BenchReport.Tally(address: "10.0.0.1:9000", weight: 100, ok: 2_500, histogram: h),
            BenchReport.Tally(address: "10.0.0.2:9000", weight: 300, ok: 7_500, histogram: h),
        ])
        r.timeline = (0..<3).map { n in
            BenchReport.TimelineSecond(second: n, requests: 3_333, ok: 3_333, errors: 0, unfinished: 0, dropped: 0, p50Us: 5_000, p99Us: 9_900,
                                       histogram: [], instances: [
                                           BenchReport.TimelineInstance(address: "10.0.0.1:9000", requests: 833, ok: 833, errors: 0, unfinished: 0, p50Us: 5_000, p99Us: 9_900),
                                           BenchReport.TimelineInstance(address: "10.0.0.2:9000", requests: 2_500, ok: 2_500, errors: 0, unfinished: 0, p50Us: 5_000, p99Us: 9_900),
                                       ])
        }
        r.events = [BenchReport.Event(at: 1.5, kind: "ejected", instance: "10.0.0.1:9000", message: "ejected")]
        r.command = "mindalpha-pool bench --target 10.0.0.1:9000@100 --target 10.0.0.2:9000@300"
        return r
    }

    /// Elements by name with their attributes, as an XML parser reads them (which fails on a malformed document).
    final class Elements: NSObject, XMLParserDelegate {
        var found: [(name: String, attributes: [String: String])] = []
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            found.append((name, attributes))
        }
    }

    static func parse(_ svg: String) throws -> [(name: String, attributes: [String: String])] {
        let parser = XMLParser(data: Data(svg.utf8))
        let elements = Elements()
        parser.delegate = elements
        try #require(parser.parse(), "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "")")
        return elements.found
    }

    @Test func thePlotIsWellFormedSVGWithThreePanelsACurvePerRunAndTheReportsNumbers() throws {
        let a = Self.knownRun(), b = Self.knownRun(shift: 500_000)
        let svg = ReportPlot(runs: [.init(name: "host-a", report: a), .init(name: "host-b", report: b)], title: a.command!).svg
        let elements = try Self.parse(svg)
        #expect(elements.first?.name == "svg" && elements.first?.attributes["xmlns"] == "http://www.w3.org/2000/svg")
        #expect(Set(elements.filter { $0.name == "g" }.compactMap { $0.attributes["id"] }) == ["spectrum", "timeline", "shares"])
        // One spectrum curve per run, and at its labelled percentiles the report's own figures.
        #expect(elements.filter { $0.attributes["class"] == "run" }.compactMap { $0.attributes["data-run"] } == ["host-a", "host-b"])
        let levels = elements.filter { $0.attributes["class"] == "level" && $0.attributes["data-run"] == "host-a" }
        func at(_ label: String) -> Double? { levels.first { $0.attributes["data-percentile"] == label }.flatMap { Double($0.attributes["data-us"] ?? "") } }
        #expect(at("50%") == a.latency.p50 && at("90%") == a.latency.p90 && at("99%") == a.latency.p99 && at("99.9%") == a.latency.p99_9)
        #expect(abs((at("99%") ?? 0) - 9_900) <= 10)  // the known spectrum: p99 of 1…10,000 µs
        // The timeline's lines per run, the event marked; the shares against the weights.
        #expect(elements.filter { $0.attributes["class"] == "rps" }.count == 2 && elements.filter { $0.attributes["class"] == "p99" }.count == 2)
        #expect(elements.contains { $0.attributes["class"] == "event" && $0.attributes["data-kind"] == "ejected" })
        #expect(elements.filter { $0.attributes["class"] == "share" }.count == 2 && elements.filter { $0.attributes["class"] == "expected" }.count == 2)
        // Self-contained: no script, no external reference.
        #expect(!svg.contains("<script") && !svg.contains("href") && !svg.contains("@import") && !svg.contains("url("))
        #expect(svg.contains("mindalpha-pool bench --target 10.0.0.1:9000@100"))
    }

    /// `.hgrm` lines: value, percentile, total count, 1/(1-percentile); then the `#[` summary.
    static func hgrmLines(_ text: String) throws -> [(value: Double, percentile: Double, count: Int)] {
        var lines: [(Double, Double, Int)] = []
        let rows = text.split(separator: "\n")
        #expect(rows.first?.split(separator: " ").map(String.init) == ["Value", "Percentile", "TotalCount", "1/(1-Percentile)"])
        for row in rows.dropFirst() where !row.hasPrefix("#") {
            let f = row.split(separator: " ")
            try #require(f.count == 4 || f.count == 3, "\(row)")
            let (v, p, c) = (try #require(Double(f[0])), try #require(Double(f[1])), try #require(Int(f[2])))
            if f.count == 4 { #expect(abs(try #require(Double(f[3])) - 1 / (1 - p)) < 0.01 * (1 / (1 - p)), "\(row)") } else { #expect(p == 1) }
            lines.append((v, p, c))
        }
        return lines
    }

    @Test func theHgrmFollowsHdrHistogramsFormatAndItsP99IsTheReports() throws {
        let r = Self.knownRun()
        let text = try #require(r.hgrm())
        let lines = try Self.hgrmLines(text)
        #expect(lines.count > 50 && lines.last?.count == 10_000)
        #expect(zip(lines, lines.dropFirst()).allSatisfy { $0.percentile <= $1.percentile && $0.count <= $1.count && $0.value <= $1.value })
        let p99 = try #require(lines.first { $0.percentile >= 0.99 })
        #expect(p99.percentile == 0.99 && abs(p99.value * 1000 - r.latency.p99) <= 0.6, "\(p99) vs \(r.latency.p99)")
        #expect(text.contains("#[Max     =") && text.contains("Total count    =        10000]"))
        #expect(r.hgrm(uncorrected: true) == nil)  // a closed loop has no uncorrected histogram
    }

    @Test func theTerminalChartsFitEightyColumnsAndFallBackToASCII() {
        let r = Self.knownRun()
        for glyphs in [TerminalChart.Glyphs.unicode, .ascii] {
            let chart = TerminalChart(glyphs: glyphs)
            let lines = chart.histogram(r.histogram) + chart.spectrum(r.histogram) + chart.shares(r.instances)
            #expect(lines.count == 12 + 5 + 2)
            #expect(lines.allSatisfy { $0.count <= TerminalChart.width }, "\(lines.map(\.count).max() ?? 0) columns")
            if glyphs == .ascii { #expect(lines.allSatisfy { $0.allSatisfy(\.isASCII) }, "\(lines.filter { !$0.allSatisfy(\.isASCII) })") }
        }
        #expect(TerminalChart.Glyphs.forEnvironment(["LANG": "C"]) == .ascii)
        #expect(TerminalChart.Glyphs.forEnvironment(["LANG": "en_US.UTF-8"]) == .unicode)
        #expect(TerminalChart.Glyphs.forEnvironment(["LC_ALL": "C", "LANG": "en_US.UTF-8"]) == .ascii)
        #expect(TerminalChart.Glyphs.forEnvironment(["LANG": "C.utf8", "TERM": "dumb"]) == .ascii)
        #expect(TerminalChart(glyphs: .unicode).sparkline([1, 5, 9]) == "▁▅█" && TerminalChart(glyphs: .ascii).sparkline([3, 3]) == "==")
        #expect(TerminalChart(glyphs: .ascii).sparkline([10, 20, 30, 40, 50, 60]) == "_.-=*#")
        // The share bars put the expected mark where the weight says: 75 % of the 34 cells' top.
        let shares = TerminalChart(glyphs: .ascii).shares(r.instances)
        #expect(shares[0].contains("75.0% of  75.0%") && shares[1].contains("25.0% of  25.0%"))
    }
}
