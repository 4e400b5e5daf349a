import NIOCore
import NIOHTTP1

/// An HTTP request as the routes see it.
struct AgentRequest {
    var method: HTTPMethod
    var path: String
    /// Query parameters in order; the value is `nil` for `?stale` with no `=`.
    var query: [(name: String, value: String?)]
    var headers: HTTPHeaders
    var body: ByteBuffer?

    init(head: HTTPRequestHead, body: ByteBuffer?) {
        method = head.method
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = Self.percentDecode(String(parts[0]), plusIsSpace: false)
        query = parts.count > 1 ? Self.parseQuery(String(parts[1])) : []
        headers = head.headers
        self.body = body
    }

    /// The last value of `name`; `""` when present without `=`.
    func value(_ name: String) -> String? {
        guard let item = query.last(where: { $0.name == name }) else { return nil }
        return item.value ?? ""
    }

    func values(_ name: String) -> [String] { query.filter { $0.name == name }.map { $0.value ?? "" } }

    func has(_ name: String) -> Bool { query.contains { $0.name == name } }

    /// The ACL token: `X-Consul-Token`, else `Authorization: Bearer`, else `?token=`.
    var token: String? {
        if let t = headers.first(name: "X-Consul-Token"), !t.isEmpty { return t }
        if let auth = headers.first(name: "Authorization"), auth.hasPrefix("Bearer ") { return String(auth.dropFirst(7)) }
        if let t = value("token"), !t.isEmpty { return t }
        return nil
    }

    static func parseQuery(_ text: String) -> [(name: String, value: String?)] {
        text.split(separator: "&").map { pair in
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = percentDecode(String(kv[0]), plusIsSpace: true)
            return (name, kv.count > 1 ? percentDecode(String(kv[1]), plusIsSpace: true) : nil)
        }
    }

    static func percentDecode(_ text: String, plusIsSpace: Bool) -> String {
        var bytes: [UInt8] = []
        var utf8 = text.utf8.makeIterator()
        while let b = utf8.next() {
            if b == UInt8(ascii: "%"), let h = utf8.next(), let l = utf8.next(),
               let hi = hexValue(h), let lo = hexValue(l) {
                bytes.append(hi << 4 | lo)
            } else if plusIsSpace, b == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// What a route answers.
enum AgentReply {
    case response(HTTPResponseStatus, headers: [(String, String)], body: String?)
    /// A body of bytes as they are (a key's raw value).
    case binary(HTTPResponseStatus, headers: [(String, String)], body: [UInt8])
    /// Hold the request until `topic` changes so that `ready()` holds, or `wait` runs out; then answer with
    /// `render()`, which must not block again.
    case block(topic: AgentState.Topic, wait: TimeAmount, ready: @Sendable () -> Bool, render: @Sendable () -> AgentReply)

    static func text(_ status: HTTPResponseStatus, _ message: String, headers: [(String, String)] = []) -> AgentReply {
        .response(status, headers: headers + [("Content-Type", "text/plain; charset=utf-8")], body: message)
    }
}
