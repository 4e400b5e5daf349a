import Foundation
import MindAlphaBench
import TestSupport
import Testing

/// Three coordinated agents each on a "host" of its own — a network namespace this test makes, joined by veth to a
/// bridge in a fourth one where consul-dev and the servers run (10.231.0.0/24, inside namespaces only this test
/// has) — and their merge. Needs root and iproute2's `ip netns`; skipped otherwise.
@Suite(.serialized) struct BenchNamespaceTests {
    static let ip = "/usr/sbin/ip"

    /// Whether this process may make network namespaces (root, `ip` present, the kernel allows it).
    static let canMakeNamespaces: Bool = {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: ip) else { return false }
        let name = "mp-probe-\(getpid())"
        guard run([ip, "netns", "add", name]) else { return false }
        _ = run([ip, "netns", "del", name])
        return true
    }()

    @discardableResult
    static func run(_ arguments: [String]) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: arguments[0])
        p.arguments = Array(arguments.dropFirst())
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    /// Runs the binary inside namespace `ns`.
    static func start(in ns: String, _ arguments: [String]) throws -> Tool.Running {
        try Tool.start(program: URL(fileURLWithPath: ip), ["netns", "exec", ns, Tool.binary.path] + arguments)
    }

    @Test(.enabled(if: canMakeNamespaces, "needs root and ip netns (iproute2) to make the agents' own hosts"))
    func threeAgentsOnTheirOwnHostsStartTogetherAndMergeThroughConsul() async throws {
        let tag = String(format: "%04x", UInt16.random(in: 0...UInt16.max))
        let hub = "mp-hub-\(tag)"
        let hosts = (1...3).map { "mp-a\($0)-\(tag)" }
        defer { for ns in [hub] + hosts { Self.run([Self.ip, "netns", "del", ns]) } }
        var steps: [[String]] = [["netns", "add", hub], ["-n", hub, "link", "set", "lo", "up"],
                                 ["-n", hub, "link", "add", "br0", "type", "bridge"],
                                 ["-n", hub, "addr", "add", "10.231.0.1/24", "dev", "br0"], ["-n", hub, "link", "set", "br0", "up"]]
        for (i, ns) in hosts.enumerated() {
            let (a, b) = ("va\(i + 1)-\(tag)", "vb\(i + 1)-\(tag)")
            steps += [["netns", "add", ns], ["-n", ns, "link", "set", "lo", "up"],
                      ["link", "add", a, "type", "veth", "peer", "name", b],
                      ["link", "set", a, "netns", hub], ["link", "set", b, "netns", ns],
                      ["-n", hub, "link", "set", a, "master", "br0"], ["-n", hub, "link", "set", a, "up"],
                      ["-n", ns, "addr", "add", "10.231.0.\(11 + i)/24", "dev", b], ["-n", ns, "link", "set", b, "up"]]
        }
        for step in steps { try #require(Self.run([Self.ip] + step), "ip \(step.joined(separator: " ")) failed") }

        let consul = "10.231.0.1:8500"
        let agent = try Self.start(in: hub, ["consul-dev", "--listen", consul])
        defer { agent.terminate() }
        _ = try await agent.lines(1)
        let servers = try Self.start(in: hub, ["serve", "--host", "10.231.0.1", "--port", "0", "--instances", "3", "--threads", "1",
                                               "--register", "--service", "ms-serving", "--consul", consul])
        _ = try await servers.lines(3)

        let agents = try hosts.map { ns in
            try Self.start(in: ns, ["bench", "--service", "ms-serving", "--consul", consul, "--conns", "3", "--duration", "2s",
                                    "--coordinate", "netns-1", "--agents", "3", "--json", "--quiet"])
        }
        var reports: [BenchReport] = []
        for a in agents {
            try await a.wait(timeout: 90)
            #expect(a.process.terminationStatus == 0, "\(a.stderr)")
            reports.append(try BenchReport.decode(Data(a.stdout.utf8)))
        }
        let starts = reports.compactMap { $0.startedAt.flatMap(BenchReport.date) }
        #expect(starts.count == 3 && starts.max()!.timeIntervalSince(starts.min()!) < 0.050)
        #expect(Set(reports.compactMap { $0.agents?.first?.shard }) == ["1/3", "2/3", "3/3"])

        let merge = try Self.start(in: hosts[0], ["report", "merge", "--consul", consul, "--run", "netns-1", "--json"])
        try await merge.wait(timeout: 60)
        #expect(merge.process.terminationStatus == 0, "\(merge.stderr)")
        let merged = try BenchReport.decode(Data(merge.stdout.utf8))
        #expect(merged.runs == 3 && merged.errors.isEmpty && (merged.overlap?.share ?? 0) > 0.97)

        // The servers' own count, said as they stop, is the merged count.
        _ = try await servers.stop(SIGTERM, timeout: 30)
        let answered = servers.stderr.split(separator: "\n").compactMap { line -> Int? in
            guard line.hasPrefix("answered ") else { return nil }
            return Int(line.dropFirst("answered ".count).prefix { $0.isNumber || $0 == "," }.filter(\.isNumber))
        }.reduce(0, +)
        #expect(answered == merged.requests, "the servers answered \(answered), the merge counts \(merged.requests): \(servers.stderr)")
    }
}
