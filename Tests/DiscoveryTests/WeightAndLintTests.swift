
@Suite struct WeightAndLintTests {
    // docs/protocol.md §3.2, row by row.
    @Test(arguments: [
        (String?.none, 200), ("7", 7), ("+5", 5), ("007", 7), ("0", 200), ("-3", 200),
        ("", 0), (" 5", 0), ("5.0", 0), ("0x10", 0), ("1_000", 0), ("99999999999999999999", 0), ("5 ", 0), ("+", 0), ("abc", 0),
        ("9223372036854775807", Int.max), ("-9223372036854775808", 200), ("9223372036854775808", 0),
    ])
    func goClientWeight(raw: String?, expected: Int) {
        #expect(BalanceFactor.weight(raw) == expected)
    }

    static func instance(_ id: String, _ host: String, factor: String?, port: Int = 9000, fromNode: Bool = false) -> Instance {
        Instance(host: host, port: port, serviceID: id, serviceName: "ms", balanceFactor: factor, addressFromNode: fromNode)
    }

    @Test func fleetNumbers() {
        let fleet = Fleet([Self.instance("c", "10.0.0.3", factor: "2"), Self.instance("a", "10.0.0.1", factor: "4"), Self.instance("b", "10.0.0.2", factor: "3")])
        #expect(fleet.instances.map(\.serviceID) == ["a", "b", "c"])
        #expect(fleet.totalWeight == 9)
        #expect(fleet.gcd == 1)
        #expect(fleet.cycleLength == 9)
        #expect(abs(fleet.share(of: fleet.instances[0]) - 4.0 / 9) < 1e-12)
        let tens = Fleet([Self.instance("a", "h", factor: "200"), Self.instance("b", "i", factor: "200"), Self.instance("c", "j", factor: "100")])
        #expect(tens.gcd == 100)
        #expect(tens.cycleLength == 5)
    }

    @Test func equalWeightsSortByAddress() {
        let fleet = Fleet([Self.instance("b", "10.0.0.9", factor: nil), Self.instance("a", "10.0.0.10", factor: nil)])
        #expect(fleet.instances.map(\.address) == ["10.0.0.10:9000", "10.0.0.9:9000"])
    }

    @Test func zeroWeightsMeanPlainRoundRobin() {
        let fleet = Fleet([Self.instance("a", "h", factor: "x"), Self.instance("b", "i", factor: "y")])
        #expect(fleet.gcd == 0)
        #expect(fleet.cycleLength == 2)
        #expect(fleet.share(of: fleet.instances[0]) == 0.5)
    }

    @Test func lintFindsNonIntegerFactorAndTheHangingGCD() {
        let findings = RegistrationLint.check([Self.instance("a", "10.0.0.1", factor: "200"), Self.instance("b", "10.0.0.2", factor: "5.0")])
        #expect(findings.map(\.code) == [.nonIntegerBalanceFactor, .gcdNeverTerminates])
        #expect(findings[0].message.contains("\"5.0\""))
        #expect(findings[0].serviceIDs == ["b"])
        #expect(findings[1].severity == .fleetBreaking)
        #expect(findings[1].message.contains("{200, 0}"))
    }

    @Test func threeDistinctWeightsWithZeroDoNotHang() {
        let findings = RegistrationLint.check([
            Self.instance("a", "10.0.0.1", factor: "200"), Self.instance("b", "10.0.0.2", factor: "100"), Self.instance("c", "10.0.0.3", factor: "bad"),
        ])
        #expect(findings.map(\.code) == [.nonIntegerBalanceFactor])
    }

    @Test func lintFindsEmptyAddressAndDuplicates() {
        let findings = RegistrationLint.check([
            Self.instance("a", "10.0.1.13", factor: "2", fromNode: true),
            Self.instance("b", "10.0.0.2", factor: "3"),
            Self.instance("c", "10.0.0.2", factor: "1"),
        ])
        #expect(findings.map(\.code) == [.emptyServiceAddress, .duplicateAddress])
        #expect(findings[0].message.contains("\":9000\""))
        #expect(findings[1].serviceIDs == ["b", "c"])
        #expect(findings[1].message.contains("weights 3, 1"))
    }

    @Test func cleanFleetHasNoFindings() {
        #expect(RegistrationLint.check([Self.instance("a", "10.0.0.1", factor: "1"), Self.instance("b", "10.0.0.2", factor: nil)]).isEmpty)
    }

    @Test func changesByAddress() {
        let a = Self.instance("a", "10.0.0.1", factor: "200"), b = Self.instance("b", "10.0.0.2", factor: "200")
        let b2 = Self.instance("b", "10.0.0.2", factor: "100"), c = Self.instance("c", "10.0.0.3", factor: nil)
        let change = InstanceSetChange(from: [a, b], to: [b2, c])
        #expect(change.added == [c])
        #expect(change.removed == [a])
        #expect(change.reweighted == [.init(before: b, after: b2)])
        #expect(InstanceSetChange(from: [a, b], to: [b, a]).isEmpty)
    }

    @Test func settingsFollowTheConsulCLI() throws {
        let d = try ConsulSettings.resolve(address: nil, token: nil, tokenFile: nil, caFile: nil, datacenter: nil, environment: [:])
        #expect(d.baseURL == "http://127.0.0.1:8500")
        let env = try ConsulSettings.resolve(address: nil, token: nil, tokenFile: nil, caFile: nil, datacenter: nil,
                                             environment: ["CONSUL_HTTP_ADDR": "https://consul.example:8501", "CONSUL_HTTP_TOKEN": "t-env"])
        #expect(env.baseURL == "https://consul.example:8501")
        #expect(env.token == "t-env")
        let flag = try ConsulSettings.resolve(address: "10.0.0.1", token: "t-flag", tokenFile: nil, caFile: nil, datacenter: "dc2",
                                              environment: ["CONSUL_HTTP_ADDR": "x:1", "CONSUL_HTTP_TOKEN": "t-env", "CONSUL_HTTP_SSL": "true"])
        #expect(flag.baseURL == "https://10.0.0.1:8500")
        #expect(flag.token == "t-flag")
        #expect(flag.datacenter == "dc2")
        #expect(throws: ConsulError.self) {
            try ConsulSettings.resolve(address: "http://a b", token: nil, tokenFile: nil, caFile: nil, datacenter: nil, environment: [:])
        }
        #expect(throws: ConsulError.self) {
            try ConsulSettings.resolve(address: nil, token: nil, tokenFile: "/nonexistent/token", caFile: nil, datacenter: nil, environment: [:])
        }
    }

    @Test func tokenFileBeatsTheTokenVariable() throws {
        let path = "/tmp/mindalpha-token-\(UInt64.random(in: 0...UInt64.max))"
        try "  from-file\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let s = try ConsulSettings.resolve(address: nil, token: nil, tokenFile: nil, caFile: nil, datacenter: nil,
                                           environment: ["CONSUL_HTTP_TOKEN_FILE": path, "CONSUL_HTTP_TOKEN": "from-env"])
        #expect(s.token == "from-file")
        let flagFile = try ConsulSettings.resolve(address: nil, token: "from-flag", tokenFile: path, caFile: nil, datacenter: nil, environment: [:])
        #expect(flagFile.token == "from-flag")
    }
}

import Foundation
import MindAlphaDiscovery
import MindAlphaPool
import Testing
