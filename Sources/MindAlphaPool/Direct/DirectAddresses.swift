#if os(Linux)
import CEpoll
import Dispatch

/// Where a connect of the direct engine goes: an instance's stream addresses, in getaddrinfo's order of preference.
///
/// An address literal (how Consul normally lists instances) is taken at once. A name needs DNS, and getaddrinfo
/// blocks: it is resolved on a thread of Dispatch's, never on a loop, whose other connections would wait for it.
enum DirectAddresses {
    /// One resolved stream address (a `sockaddr_storage` and its length).
    typealias Address = mp_address

    /// The most addresses of one name that are tried.
    static let most = 8

    /// The addresses of an IPv4 or IPv6 literal; `nil` for a name.
    static func literal(_ host: String, port: Int) -> [Address]? {
        guard case let .success(addresses) = lookup(host, port: port, numericOnly: true) else { return nil }
        return addresses
    }

    /// Resolves a name off the calling thread; `done` is called on a thread of Dispatch's with its addresses or
    /// with why it does not resolve (a connect failure of `instance`).
    static func resolve(_ host: String, port: Int, instance: String, done: @escaping @Sendable (Result<[Address], PoolError>) -> Void) {
        DispatchQueue.global().async {
            done(lookup(host, port: port, numericOnly: false).mapError { reason in
                .connectFailed(instance: instance, reason: "cannot resolve '\(host)': \(reason)")
            })
        }
    }

    private struct Failure: Error, CustomStringConvertible { var description: String }

    private static func lookup(_ host: String, port: Int, numericOnly: Bool) -> Result<[Address], Failure> {
        var addresses = [Address](repeating: Address(), count: most)
        let n = addresses.withUnsafeMutableBufferPointer { buffer in
            host.withCString { mp_resolve($0, Int32(port), numericOnly ? 1 : 0, buffer.baseAddress, Int32(most)) }
        }
        guard n > 0 else { return .failure(Failure(description: String(cString: mp_resolve_error(n)).lowercased())) }
        return .success(Array(addresses.prefix(Int(n))))
    }
}
#endif
