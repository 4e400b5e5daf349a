#if os(Linux)
import CEpoll
import Foundation
import Logging
import MindAlphaWire
import NIOConcurrencyHelpers
import NIOCore

/// The reference server's direct engine: `threads` threads, each a ``DirectLoop`` over the shared listening sockets
/// and connections (plain epoll, the shape of the C reference server). Used when nothing is injected: fault
/// injection (latency, errors, drops, closes) stays with the SwiftNIO engine.
final class DirectServer: Sendable {
    /// The addresses bound, in the order of the configuration's endpoints.
    let addresses: [SocketAddress]
    private let listeners: [Int32]
    private let inboxes: [DirectInbox]
    private let finished: NIOLockedValueBox<(running: Int, waiters: [CheckedContinuation<Void, Never>])>

    private init(addresses: [SocketAddress], listeners: [Int32], inboxes: [DirectInbox], threads: Int) {
        self.addresses = addresses
        self.listeners = listeners
        self.inboxes = inboxes
        self.finished = NIOLockedValueBox((threads, []))
    }

    /// Binds every endpoint (one socket each, shared by the threads: no `SO_REUSEPORT`, so another process can never
    /// bind the same port beside it) and starts the threads. Throws ``ServerError`` naming the endpoint that failed.
    static func start(_ configuration: ServerConfiguration, stats: ServerStats, logger: Logger) throws -> DirectServer {
        var listeners: [Int32] = []
        var bound: [SocketAddress] = []
        for endpoint in configuration.listen {
            do {
                let fd = try listen(endpoint)
                listeners.append(fd)
                bound.append(try localAddress(fd))
            } catch {
                for fd in listeners { Glibc.close(fd) }
                throw ServerError.cannotListen(endpoint, reason: error.reason)
            }
        }
        let inboxes = (0..<configuration.threads).map { _ in DirectInbox() }
        let turn = DirectTurn()
        let server = DirectServer(addresses: bound, listeners: listeners, inboxes: inboxes, threads: configuration.threads)
        for index in inboxes.indices {
            let thread = Thread { [server, listeners] in
                mp_name_thread("serve-direct-\(index)")
                DirectLoop(listeners: listeners, peers: inboxes, index: index, turn: turn, configuration: configuration,
                           stats: stats, logger: logger).run()
                server.threadFinished()
            }
            thread.start()
        }
        return server
    }

    /// Stops every thread: no more accepts; each connection closes once its answers are written (at most the
    /// configuration's drain timeout). Returns when every thread has ended.
    func shutdown() async {
        for inbox in inboxes { inbox.stop() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = finished.withLockedValue { state -> Bool in
                if state.running == 0 { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
        for fd in listeners { Glibc.close(fd) }
        // Connections handed to a loop after it ended, and the loops' eventfds.
        for inbox in inboxes {
            for fd in inbox.take() { Glibc.close(fd) }
            Glibc.close(inbox.wake)
        }
    }

    private func threadFinished() {
        let waiters = finished.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.running -= 1
            guard state.running == 0 else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    // MARK: sockets

    struct SocketFailure: Error {
        let reason: String
        init(_ code: Int32) { reason = ServerError.reason(errno: code) }
        init(reason: String) { self.reason = reason }
    }

    /// A non-blocking socket listening on `address` with `SO_REUSEADDR` (as the SwiftNIO engine's).
    static func listen(_ address: HostPort) throws(SocketFailure) -> Int32 {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(address.host, String(address.port), &hints, &found)
        guard status == 0, let info = found else {
            throw SocketFailure(reason: "cannot resolve the host (\(String(cString: gai_strerror(status))))")
        }
        defer { freeaddrinfo(found) }
        let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketFailure(errno) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0, Glibc.listen(fd, 1024) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw SocketFailure(code)
        }
        return fd
    }

    static func localAddress(_ fd: Int32) throws(SocketFailure) -> SocketAddress {
        guard let address = address(of: fd, peer: false),
              let socketAddress = try? SocketAddress(ipAddress: address.host, port: address.port)
        else { throw SocketFailure(errno) }
        return socketAddress
    }

    /// The socket's own address (`getsockname`) or its peer's (`getpeername`).
    static func address(of fd: Int32, peer: Bool) -> HostPort? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                (peer ? getpeername(fd, $0, &length) : getsockname(fd, $0, &length)) == 0
            }
        }
        return ok ? describe(storage) : nil
    }

    /// The IP address and port of an IPv4 or IPv6 socket address.
    static func describe(_ storage: sockaddr_storage) -> HostPort? {
        var storage = storage
        let family = Int32(storage.ss_family)
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        return withUnsafePointer(to: &storage) { pointer -> HostPort? in
            switch family {
            case AF_INET:
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { a in
                    var addr = a.pointee.sin_addr
                    guard inet_ntop(AF_INET, &addr, &text, socklen_t(text.count)) != nil else { return nil }
                    return HostPort(host: String(cString: text), port: Int(UInt16(bigEndian: a.pointee.sin_port)))
                }
            case AF_INET6:
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { a in
                    var addr = a.pointee.sin6_addr
                    guard inet_ntop(AF_INET6, &addr, &text, socklen_t(text.count)) != nil else { return nil }
                    return HostPort(host: String(cString: text), port: Int(UInt16(bigEndian: a.pointee.sin6_port)))
                }
            default:
                return nil
            }
        }
    }
}
#endif
