import Foundation
import NIOHTTP1

/// One key of Consul's key/value store.
public struct KVPair: Sendable, Equatable {
    public var key: String
    /// The value's bytes (empty for Consul's `null`).
    public var value: [UInt8]
    public var flags: UInt64
    public var createIndex: UInt64
    public var modifyIndex: UInt64
}

/// Consul's key/value store (`/v1/kv/`): what coordinating several `bench` agents needs. Keys are sent as given, each
/// segment percent-encoded; Consul accepts letters, digits and `,-_./` in them.
extension ConsulClient {
    /// `GET /v1/kv/<key>`: the key (`nil` when there is none) and `X-Consul-Index`. With `index`, a blocking query:
    /// Consul answers once the key's index passes it, or after `wait` (default 5 minutes) with what is there.
    public func kv(_ key: String, index: UInt64? = nil, wait: Duration? = nil) async throws(ConsulError) -> (pair: KVPair?, index: UInt64) {
        let (pairs, index) = try await kvRead(key, recurse: false, index: index, wait: wait)
        return (pairs.first, index)
    }

    /// `GET /v1/kv/<prefix>?recurse`: every key under the prefix, in key order, and the prefix's index; blocking as
    /// ``kv(_:index:wait:)``.
    public func kvList(prefix: String, index: UInt64? = nil, wait: Duration? = nil) async throws(ConsulError) -> (pairs: [KVPair], index: UInt64) {
        try await kvRead(prefix, recurse: true, index: index, wait: wait)
    }

    /// `PUT /v1/kv/<key>`; with `cas`, a check-and-set: written only if the key's `ModifyIndex` is `cas` (0: only if
    /// it does not exist). Returns whether it was written.
    @discardableResult
    public func kvPut(_ key: String, value: [UInt8], cas: UInt64? = nil) async throws(ConsulError) -> Bool {
        let path = "/v1/kv/\(Self.keyPath(key))" + (cas.map { "?cas=\($0)" } ?? "")
        let (_, body) = try await send(.PUT, path, body: Data(value), timeout: settings.timeout)
        return try decode(Bool.self, body, path: path)
    }

    /// `DELETE /v1/kv/<key>` (with `recurse`, every key under it).
    public func kvDelete(_ key: String, recurse: Bool = false) async throws(ConsulError) {
        _ = try await send(.DELETE, "/v1/kv/\(Self.keyPath(key))" + (recurse ? "?recurse" : ""), timeout: settings.timeout)
    }

    private func kvRead(_ key: String, recurse: Bool, index: UInt64?, wait: Duration?) async throws(ConsulError) -> ([KVPair], UInt64) {
        var items: [String] = []
        if recurse { items.append("recurse=") }
        if let datacenter = settings.datacenter { items.append("dc=\(escape(datacenter))") }
        var timeout = settings.timeout
        if let index, index > 0 {
            let wait = wait ?? .seconds(300)
            items.append("index=\(index)")
            items.append("wait=\(max(1, wait.milliseconds))ms")
            timeout += wait + wait / 16
        }
        let path = "/v1/kv/\(Self.keyPath(key))" + (items.isEmpty ? "" : "?" + items.joined(separator: "&"))
        let (head, body) = try await send(.GET, path, timeout: timeout, notFoundIsAnswer: true)
        let answered = head.headers.first(name: "X-Consul-Index").flatMap(UInt64.init) ?? 0
        guard head.status == .ok else { return ([], answered) }
        let entries = try decode([Entry].self, body, path: path)
        var pairs: [KVPair] = []
        for e in entries {
            var value: [UInt8] = []
            if let text = e.Value {
                guard let data = Data(base64Encoded: text) else {
                    throw failure(.malformed(address: settings.hostPort, path: Self.pathOnly(path), reason: "the value of \(e.Key) is not base64"))
                }
                value = Array(data)
            }
            pairs.append(KVPair(key: e.Key, value: value, flags: e.Flags, createIndex: e.CreateIndex, modifyIndex: e.ModifyIndex))
        }
        return (pairs, answered)
    }

    /// A `DirEntry` as Consul writes it.
    private struct Entry: Decodable {
        var Key: String
        var Value: String?
        var Flags: UInt64
        var CreateIndex: UInt64
        var ModifyIndex: UInt64
    }

    private func decode<T: Decodable>(_ type: T.Type, _ body: Data, path: String) throws(ConsulError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: body)
        } catch {
            throw failure(.malformed(address: settings.hostPort, path: Self.pathOnly(path), reason: "not the JSON Consul sends for a key: \(Self.describe(decoding: error))"))
        }
    }

    /// Each segment percent-encoded, the slashes kept.
    private static func keyPath(_ key: String) -> String {
        key.split(separator: "/", omittingEmptySubsequences: false).map { escape(String($0)) }.joined(separator: "/")
    }
}
