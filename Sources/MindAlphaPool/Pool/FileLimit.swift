#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's open-file limit (`RLIMIT_NOFILE`).
public enum FileLimit {
    /// Raises the soft limit towards `needed` (as far as the hard limit allows) and returns the soft limit now in
    /// force; `needed` of 0 raises it to the hard limit.
    @discardableResult
    public static func raise(to needed: Int = 0) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        let hard = limit.rlim_max
        let want = needed <= 0 ? hard : min(hard, rlim_t(needed))
        if want > limit.rlim_cur {
            var raised = limit
            raised.rlim_cur = want
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur >= rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
    }
}
