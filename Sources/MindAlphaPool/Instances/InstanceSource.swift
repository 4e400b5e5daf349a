/// What an ``InstanceSource`` says about the instances.
public enum InstanceUpdate: Sendable, Hashable {
    /// The whole current set (an empty one is held back for ``PoolConfiguration/emptySetGrace`` while the pool has
    /// instances).
    case instances([Instance])
    /// The source cannot be asked now; the last set stands. `refused`: asking again will not help (a permission,
    /// a bad setting), so a pool that has no set yet fails to start with ``PoolError/discoveryRefused(_:)``.
    case failed(String, refused: Bool)
    /// It answers again after failures.
    case recovered
}

/// Where a pool's instances come from, for its whole life: an async sequence of updates, the first of which is
/// the set to start with (or why there is none). The pool iterates it in a task of its own, cancels that task at
/// shutdown, then calls ``shutdown()``. `MindAlphaDiscovery` provides a Consul source; a fixed list needs none
/// (``PoolConfiguration/Source/fixed(_:)``).
public protocol InstanceSource: Sendable {
    /// Names the source in errors: the service name.
    var name: String { get }
    /// The updates, until the iterating task is cancelled.
    func updates() -> AsyncStream<InstanceUpdate>
    /// Releases what the source holds (an HTTP client); called once, after iteration has stopped.
    func shutdown() async
}
