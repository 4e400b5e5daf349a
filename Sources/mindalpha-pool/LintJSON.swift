import MindAlphaDiscovery

/// A registration-lint finding in `discover --json` and `schedule --json`.
struct LintJSON: Encodable {
    var code, severity, message: String
    var serviceIDs: [String]

    /// `effect` says what the finding does to what the command shows.
    init(_ finding: LintFinding, effect: String = "") {
        code = finding.code.rawValue
        severity = finding.severity.rawValue
        message = finding.message + effect
        serviceIDs = finding.serviceIDs
    }
}
