import Foundation
import NIOCore
import NIOPosix

/// A failed connect or socket call in a few words a user can act on: `connection refused`, `no route to host`.
/// Shared by the Consul client and the pool.
enum SocketErrorText {
    static func describe(_ error: any Error) -> String {
        if let e = error as? NIOConnectionError, let first = e.connectionErrors.first?.error { return describe(first) }
        if let io = error as? IOError {
            switch io.errnoCode {
            case ECONNREFUSED: return "connection refused"
            case ETIMEDOUT: return "connection timed out"
            case EHOSTUNREACH, ENETUNREACH: return "no route to host"
            case EMFILE, ENFILE: return "too many open files: raise the open-file limit (ulimit -n)"
            default: return String(cString: strerror(io.errnoCode)).lowercased()
            }
        }
        return "\(error)"
    }
}
