import Foundation
import NIOCore
import NIOHTTP1

/// `/v1/kv/<key>`, as Consul's `agent/kvs_endpoint.go` and its state store answer: `GET` (one key, `?recurse`,
/// `?keys` with `?separator`, `?raw`, blocking `?index=&wait=`), `PUT` (`?flags`, `?cas`), `DELETE` (`?recurse`,
/// `?cas`); values base64 in JSON, at most 512 KiB; keys validated as Consul validates them; with ACLs on, the
/// anonymous token may neither read nor write a key, and lists are filtered to nothing.
extension AgentRouter {
    /// Consul's default `kv_max_value_size`.
    static let kvMaxValueSize = 512 * 1024

    func kv(_ request: AgentRequest, key: String, access: Access) -> AgentReply {
        if !key.isEmpty, let problem = Self.validate(key: key) { return .text(.badRequest, problem) }
        switch request.method {
        case .PUT: return kvPut(request, key: key, access: access)
        case .DELETE: return kvDelete(request, key: key, access: access)
        default: return request.has("keys") ? kvKeys(request, prefix: key, access: access) : kvGet(request, key: key, access: access)
        }
    }

    /// Consul's `validateKVKey`: the reason a key is refused, or `nil`.
    static func validate(key: String) -> String? {
        if key.hasPrefix("/") { return "key must not begin with a '/'" }
        var position = 0
        for scalar in key.unicodeScalars {
            let c = Character(scalar)
            let allowed = scalar.isASCII && (c.isLetter || c.isNumber || ",-_./".contains(c))
            if !allowed {
                return "key contains invalid character '\(c)' at position \(position). Only alphanumeric characters and ,-_./ are allowed"
            }
            position += String(scalar).utf8.count
        }
        if key.contains("../") { return "key contains path traversal sequence" }
        let lower = key.lowercased()
        for ext in suspiciousExtensions where lower.hasSuffix(ext) {
            return "key contains suspicious file extension '\(ext)' that may be cached by proxies"
        }
        return nil
    }

    private static let suspiciousExtensions = [
        ".js", ".css", ".html", ".htm", ".xml", ".json", ".txt", ".log", ".php", ".asp", ".jsp", ".cgi", ".pl", ".py",
        ".rb", ".sh", ".exe", ".dll", ".bat", ".cmd", ".com", ".scr", ".vbs", ".pdf", ".doc", ".docx", ".xls", ".xlsx",
        ".ppt", ".pptx", ".zip", ".rar", ".tar", ".gz", ".7z", ".bz2", ".jpg", ".jpeg", ".png", ".gif", ".svg", ".ico",
        ".bmp", ".mp3", ".mp4", ".avi", ".mov", ".wmv", ".flv", ".swf", ".woff", ".woff2", ".ttf", ".eot", ".otf",
    ]

    // MARK: reads

    private func kvGet(_ request: AgentRequest, key: String, access: Access) -> AgentReply {
        let recurse = request.has("recurse")
        if !recurse, key.isEmpty { return .text(.badRequest, "Missing key name") }
        let consistency: String, minIndex: UInt64, wait: TimeAmount
        switch readOptions(request).flatMap({ c in blockingOptions(request).map { (c, $0) } }) {
        case let .success((c, b)): (consistency, minIndex, wait) = (c, b.index, b.wait)
        case let .failure(e): return e.reply
        }
        if !recurse, access != .full { return denied("key:read", key) }
        let raw = request.has("raw") && !recurse
        let current: @Sendable () -> (entries: [KVTable.Entry], index: UInt64, filtered: Bool) = { [state] in
            if recurse {
                let (entries, index) = state.kvList(prefix: key)
                return access == .full ? (entries, index, false) : ([], index, !entries.isEmpty)
            }
            let (entry, index) = state.kvGet(key)
            return (entry.map { [$0] } ?? [], index, false)
        }
        let render: @Sendable () -> AgentReply = {
            let (entries, index, filtered) = current()
            var headers = self.readHeaders(index: index, consistency: consistency)
            if filtered { headers.append(("X-Consul-Results-Filtered-By-ACLs", "true")) }
            guard let first = entries.first else { return .response(.notFound, headers: Self.withoutType(headers), body: nil) }
            if raw {
                let rawHeaders = Self.withoutType(headers) + [
                    ("Content-Type", "text/plain"), ("X-Content-Type-Options", "nosniff"), ("Content-Security-Policy", "sandbox"),
                ]
                return .binary(.ok, headers: rawHeaders, body: first.value ?? [])
            }
            return .response(.ok, headers: headers, body: JSONValue.array(entries.map(Self.json)).serialized)
        }
        if minIndex > 0, current().index <= minIndex {
            return .block(topic: .kv, wait: wait, ready: { current().index > minIndex }, render: render)
        }
        return render()
    }

    private func kvKeys(_ request: AgentRequest, prefix: String, access: Access) -> AgentReply {
        let consistency: String, minIndex: UInt64, wait: TimeAmount
        switch readOptions(request).flatMap({ c in blockingOptions(request).map { (c, $0) } }) {
        case let .success((c, b)): (consistency, minIndex, wait) = (c, b.index, b.wait)
        case let .failure(e): return e.reply
        }
        // "seperator" is the historic spelling Consul still reads; "separator" wins when both are given.
        let separator = request.value("separator") ?? request.value("seperator") ?? ""
        let current: @Sendable () -> (keys: [String], index: UInt64, filtered: Bool) = { [state] in
            let (keys, index) = state.kvKeys(prefix: prefix, separator: separator)
            return access == .full ? (keys, index, false) : ([], index, !keys.isEmpty)
        }
        let render: @Sendable () -> AgentReply = {
            let (keys, index, filtered) = current()
            var headers = self.readHeaders(index: index, consistency: consistency)
            if filtered { headers.append(("X-Consul-Results-Filtered-By-ACLs", "true")) }
            // Not found for a prefix with nothing under it; the root is an empty list.
            if keys.isEmpty, !prefix.isEmpty { return .response(.notFound, headers: Self.withoutType(headers), body: nil) }
            return .response(.ok, headers: headers, body: JSONValue.strings(keys).serialized)
        }
        if minIndex > 0, current().index <= minIndex {
            return .block(topic: .kv, wait: wait, ready: { current().index > minIndex }, render: render)
        }
        return render()
    }

    /// A `DirEntry` in Go's field order.
    private static func json(_ e: KVTable.Entry) -> JSONValue {
        .object([
            ("LockIndex", .uint(e.lockIndex)), ("Key", .string(e.key)), ("Flags", .uint(e.flags)),
            ("Value", e.value.map { .string(Data($0).base64EncodedString()) } ?? .null),
            ("CreateIndex", .uint(e.createIndex)), ("ModifyIndex", .uint(e.modifyIndex)),
        ])
    }

    /// Go writes no `Content-Type` for an empty body.
    private static func withoutType(_ headers: [(String, String)]) -> [(String, String)] {
        headers.filter { $0.0 != "Content-Type" }
    }

    // MARK: writes

    private func kvPut(_ request: AgentRequest, key: String, access: Access) -> AgentReply {
        if key.isEmpty { return .text(.badRequest, "Missing key name") }
        if let conflict = Self.conflictingFlags(request, ["cas", "acquire", "release"]) { return conflict }
        var flags: UInt64 = 0, cas: UInt64?
        if request.has("flags") {
            switch Self.parseUint(request.value("flags")!) {
            case let .success(v): flags = v
            case let .failure(e): return e.reply
            }
        }
        if request.has("cas") {
            switch Self.parseUint(request.value("cas")!) {
            case let .success(v): cas = v
            case let .failure(e): return e.reply
            }
        }
        // consul-dev has no sessions: a lock names one that does not exist, as Consul then says.
        if let session = request.value("acquire") ?? request.value("release") {
            return .text(.internalServerError, "Invalid session \"\(session)\"")
        }
        let size = request.body?.readableBytes ?? 0
        if size > Self.kvMaxValueSize {
            return .text(.payloadTooLarge, "Request body(\(size) bytes) too large, max size: \(Self.kvMaxValueSize) bytes. See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size.")
        }
        guard access == .full else { return denied("key:write", key) }
        let value = request.body.map { Array($0.readableBytesView) }
        let stored = state.kvSet(key, value: value, flags: flags, cas: cas)
        return .response(.ok, headers: [("Content-Type", "application/json")], body: cas == nil || stored ? "true" : "false")
    }

    private func kvDelete(_ request: AgentRequest, key: String, access: Access) -> AgentReply {
        if let conflict = Self.conflictingFlags(request, ["recurse", "cas"]) { return conflict }
        let recurse = request.has("recurse")
        if !recurse, key.isEmpty { return .text(.badRequest, "Missing key name") }
        var cas: UInt64?
        if request.has("cas") {
            switch Self.parseUint(request.value("cas")!) {
            case let .success(v): cas = v
            case let .failure(e): return e.reply
            }
        }
        guard access == .full else { return denied("key:write", key) }
        let deleted = state.kvDelete(key, recurse: recurse, cas: cas)
        return .response(.ok, headers: [("Content-Type", "application/json")], body: cas == nil || deleted ? "true" : "false")
    }

    /// Consul's `conflictingFlags`: two of `flags` together are a 400 naming the whole query (Go's `Values.Encode`).
    private static func conflictingFlags(_ request: AgentRequest, _ flags: [String]) -> AgentReply? {
        guard flags.filter(request.has).count > 1 else { return nil }
        let encoded = request.query.sorted { $0.name < $1.name }
            .map { "\(queryEscape($0.name))=\(queryEscape($0.value ?? ""))" }.joined(separator: "&")
        return .text(.badRequest, "Conflicting flags: \(encoded)\n")
    }

    /// Go's `url.QueryEscape`.
    private static func queryEscape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "): out += "+"
            default: out += "%" + String(byte, radix: 16, uppercase: true).leftPad(2)
            }
        }
        return out
    }

    /// Go's `strconv.ParseUint(text, 10, 64)`; its error is what Consul answers (500).
    private static func parseUint(_ text: String) -> Result<UInt64, ReplyError> {
        if let v = UInt64(text), !text.hasPrefix("+") { return .success(v) }
        let reason = !text.isEmpty && text.allSatisfy(\.isASCII) && text.allSatisfy(\.isNumber) ? "value out of range" : "invalid syntax"
        return .failure(ReplyError(.text(.internalServerError, "strconv.ParseUint: parsing \(goQuote(text)): \(reason)")))
    }

    /// Go's `%q` of a string, for the texts of its errors.
    private static func goQuote(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
