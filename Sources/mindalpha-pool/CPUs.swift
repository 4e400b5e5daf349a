import Foundation
import NIOCore

/// The cores this process may run on: its CPU affinity (so `taskset -c 0` means one event loop),
/// bounded by NIO's count, which honours cgroup quotas.
enum CPUs {
    static var usable: Int {
        // Linux: "Cpus_allowed:\tff,ffffffff" in /proc/self/status is the affinity mask in hex.
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) {
            let allowed = line.dropFirst("Cpus_allowed:".count)
                .compactMap { $0.hexDigitValue }
                .reduce(0) { $0 + $1.nonzeroBitCount }
            if allowed > 0 { return min(allowed, System.coreCount) }
        }
        return System.coreCount
    }
}
