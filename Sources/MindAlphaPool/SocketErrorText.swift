import Foundation
import NIOCore
import NIOPosix

/// A failed connect or socket call in a few words a user can act on: `connection refused`, `no route to host`.
/// Shared by the Consul client and the pool.
package enum SocketErrorText {
    /// The errno of a failed socket call, when the error carries one.
    package static func errno(_ error: any Error) -> Int32? {
        if let e = error as? NIOConnectionError, let first = e.connectionErrors.first?.error { return Self.errno(first) }
        return (error as? IOError)?.errnoCode
    }

    /// Why this process, not the peer, could not open a connection, when that is the cause: too many open files,
    /// no local port left, no buffer memory.
    package static func clientLimit(_ error: any Error) -> String? {
        errno(error).flatMap(clientLimit(errno:))
    }

    /// ``clientLimit(_:)`` for the errno of a failed socket call.
    package static func clientLimit(errno code: Int32) -> String? {
        switch code {
        case EMFILE:
            return "too many open files (this process may open \(FileLimit.raise())) — raise the limit (ulimit -n) or open fewer connections"
        case ENFILE:
            return "the system's open-file table is full — close other programs' files or raise fs.file-max"
        case EADDRNOTAVAIL:
            return "no local port left for another connection — open fewer connections or widen net.ipv4.ip_local_port_range"
        case ENOBUFS, ENOMEM:
            return "out of socket buffer memory — open fewer connections"
        default:
            return nil
        }
    }

    package static func describe(_ error: any Error) -> String {
        if let e = error as? NIOConnectionError {
            if let first = e.connectionErrors.first?.error { return describe(first) }
            if e.dnsAError != nil || e.dnsAAAAError != nil { return "cannot resolve '\(e.host)'" }
        }
        if let io = error as? IOError { return describe(errno: io.errnoCode) }
        return "\(error)"
    }

    /// ``describe(_:)`` for the errno of a failed socket call.
    package static func describe(errno code: Int32) -> String {
        switch code {
        case ECONNREFUSED: return "connection refused"
        case ETIMEDOUT: return "connection timed out"
        case EHOSTUNREACH, ENETUNREACH: return "no route to host"
        case EMFILE, ENFILE: return "too many open files: raise the open-file limit (ulimit -n)"
        default: return String(cString: strerror(code)).lowercased()
        }
    }
}
