import MindAlphaPool

/// A registration that makes MindAlpha-Serving's Go client misbehave (docs/protocol.md §9).
public struct LintFinding: Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable, CaseIterable {
        /// `balanceFactor` is not an integer: the Go client gives weight 0, so the instance gets no traffic.
        case nonIntegerBalanceFactor = "non-integer-balance-factor"
        /// Exactly two distinct weights, one of them 0: the Go client's GCD never terminates.
        case gcdNeverTerminates = "gcd-never-terminates"
        /// `Service.Address` is empty: the Go client dials `":port"`, the local host.
        case emptyServiceAddress = "empty-service-address"
        /// Two registrations share an address: the Go client keeps the first, weight included.
        case duplicateAddress = "duplicate-address"
    }

    public enum Severity: String, Hashable, Sendable { case warning, fleetBreaking = "fleet-breaking" }

    public var code: Code
    public var severity: Severity
    /// The service IDs concerned.
    public var serviceIDs: [String]
    /// One line: what is wrong, what the Go client does, what to do.
    public var message: String

    public var description: String { message }
}

/// Checks a fleet's registrations for what docs/protocol.md §9 says breaks or misleads the Go client.
public enum RegistrationLint {
    public static func check(_ instances: [Instance]) -> [LintFinding] {
        var findings: [LintFinding] = []
        for i in instances {
            if let factor = i.balanceFactor, BalanceFactor.atoi(factor) == nil {
                findings.append(LintFinding(
                    code: .nonIntegerBalanceFactor, severity: .warning, serviceIDs: [i.serviceID],
                    message: "\(i.serviceID) (\(i.address)): balanceFactor \(quoted(factor)) is not an integer, so Go clients give it weight 0 and send it no traffic; register an integer such as \"200\""))
            }
            if i.addressFromNode {
                findings.append(LintFinding(
                    code: .emptyServiceAddress, severity: .warning, serviceIDs: [i.serviceID],
                    message: "\(i.serviceID): Service.Address is empty, so Go clients dial \":\(i.port)\" (their own host); this tool uses the node's address \(i.host); register the service with its Address"))
            }
        }
        let distinct = Set(instances.map(\.weight))
        if distinct.count == 2, distinct.contains(0) {
            let zero = instances.filter { $0.weight == 0 }.map(\.serviceID)
            findings.append(LintFinding(
                code: .gcdNeverTerminates, severity: .fleetBreaking, serviceIDs: zero,
                message: "weights are {\(distinct.max()!), 0}: the Go client's GCD never terminates, so its pool start-up or poller hangs; fix the weight-0 registrations (\(zero.joined(separator: ", ")))"))
        }
        var byAddress: [String: [Instance]] = [:]
        for i in instances { byAddress[i.goAddress, default: []].append(i) }
        for (address, group) in byAddress.sorted(by: { $0.key < $1.key }) where group.count > 1 {
            let ids = group.map(\.serviceID)
            let weights = group.map { String($0.weight) }.joined(separator: ", ")
            findings.append(LintFinding(
                code: .duplicateAddress, severity: .warning, serviceIDs: ids,
                message: "\(address) is registered \(group.count) times (\(ids.joined(separator: ", ")); weights \(weights)): Go clients keep one of them, weight included; deregister the extra ones"))
        }
        return findings
    }

    static func quoted(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
}
