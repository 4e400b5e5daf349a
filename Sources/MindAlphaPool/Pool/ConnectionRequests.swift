import MindAlphaWire
import NIOCore

/// The requests of one connection, whichever engine carries its bytes (SwiftNIO's ``PoolConnectionHandler`` or the
/// direct engine's ``DirectConnection``): the ones in flight by request ID, their deadlines, and what an answer that
/// matches none of them was (late, duplicate or unknown). Touched only on the connection's own thread.
///
/// A class, not a struct in its owner: finishing a request calls into the pool, which may hand the connection its
/// next request at once; a mutating method of a stored struct would still be running then.
final class ConnectionRequests {
    struct InFlight {
        let request: PoolRequest
        let leased: Bool
    }

    /// How many recently abandoned request IDs are remembered to tell a late response from an unknown one.
    static let rememberedAbandoned = 256
    /// How many recently answered request IDs are remembered to tell a duplicate answer from an unknown one.
    static let rememberedAnswered = 256

    let core: PoolCore
    let id: ConnectionID
    let key: InstanceKey
    let address: String
    private var table = InFlightTable<InFlight>()
    private var abandoned = CircularBuffer<UInt64>(initialCapacity: 16)
    private var abandonedSet = Set<UInt64>()
    private var expiredScratch: [UInt64] = []
    /// The last ``rememberedAnswered`` request IDs answered, as a ring (one store per answer; searched only when an
    /// answer matches nothing). Request IDs start at 2, so the zeros never match.
    private var answered = [UInt64](repeating: 0, count: ConnectionRequests.rememberedAnswered)
    private var answeredNext = 0
    /// The deadline the owner's timer is armed for (`distantFuture`: none).
    private(set) var timerAt = NIODeadline.distantFuture

    init(core: PoolCore, id: ConnectionID, key: InstanceKey, address: String) {
        self.core = core
        self.id = id
        self.key = key
        self.address = address
    }

    /// A request written on the connection. Returns the deadline to arm the owner's timer for, when it is earlier
    /// than the one armed (the owner then arms it, replacing the old one).
    func add(_ request: PoolRequest, leased: Bool) -> NIODeadline? {
        table.insert(request.id, InFlight(request: request, leased: leased))
        guard request.deadline < timerAt else { return nil }
        timerAt = request.deadline
        return request.deadline
    }

    /// A request that could not be written: it fails with `error` at once.
    func reject(_ request: PoolRequest, leased: Bool, _ error: PoolError) {
        finish(InFlight(request: request, leased: leased), .failure(error))
    }

    /// Every complete answer in `input` (cut from it in place), while `open` holds: finishing a request may fail
    /// the connection. An empty answer, as the Go client reads it, means a dead connection (docs/protocol.md §1.5):
    /// it throws, as a bad frame does.
    func answerAll(from input: inout ByteBuffer, parser: FrameParser, while open: () -> Bool) throws(FrameError) {
        while let frame = try parser.next(from: &input) {
            guard frame.body.readableBytes > 0 else { throw FrameError.emptyAnswer(requestID: frame.requestID) }
            answer(frame)
            if !open() { return }
        }
    }

    /// An answer: it completes its request, or is counted as late, duplicate or unknown and dropped.
    private func answer(_ frame: Frame) {
        let requestID = frame.requestID
        guard let entry = table.remove(requestID) else {
            if abandonedSet.remove(requestID) != nil {
                core.noteLate(key: key)
                noteAnswered(requestID)
            } else if answered.contains(requestID) {
                core.noteDuplicate(key: key)
            } else {
                core.noteUnknown(key: key)
            }
            return
        }
        noteAnswered(requestID)
        let now = NIODeadline.now()
        let response = PoolResponse(
            requestID: requestID, body: frame.body, instance: address, instanceNumber: key.raw,
            latencyNanoseconds: (now - entry.request.submittedAt).nanoseconds, answeredAt: now)
        finish(entry, .success(response))
    }

    /// Forgets a request in flight (its caller gave up): it fails with `error`, a late answer is counted and dropped.
    func abandon(_ requestID: UInt64, with error: PoolError) {
        guard let entry = table.remove(requestID) else { return }
        remember(requestID)
        finish(entry, .failure(error))
    }

    /// The connection is gone: every request in flight fails with `error`.
    func failAll(_ error: PoolError) {
        timerAt = .distantFuture
        for entry in table.removeAll() { finish(entry, .failure(error)) }
    }

    /// The owner's timer fired: fails every request past its deadline. Returns the deadline to arm the timer for
    /// next, if any request is left.
    func expire(now: NIODeadline) -> NIODeadline? {
        timerAt = .distantFuture
        var next = NIODeadline.distantFuture
        expiredScratch.removeAll(keepingCapacity: true)
        table.forEach { requestID, entry in
            if entry.request.deadline <= now {
                expiredScratch.append(requestID)
            } else if entry.request.deadline < next {
                next = entry.request.deadline
            }
        }
        for requestID in expiredScratch {
            guard let entry = table.remove(requestID) else { continue }
            remember(requestID)
            finish(entry, .failure(.timeout(instance: address, after: Duration(entry.request.timeout))))
        }
        // Finishing may have written new requests, arming an earlier deadline meanwhile.
        guard next < timerAt else { return nil }
        timerAt = next
        return next
    }

    private func finish(_ entry: InFlight, _ result: Result<PoolResponse, PoolError>) {
        let errorClass: PoolError.Class?
        switch result {
        case .success: errorClass = nil
        case let .failure(error): errorClass = error.errorClass
        }
        if entry.leased {
            core.countLeased(key: key, error: errorClass)
        } else {
            core.finished(id, key: key, error: errorClass)
        }
        entry.request.complete(result)
    }

    private func noteAnswered(_ requestID: UInt64) {
        answered[answeredNext] = requestID
        answeredNext = answeredNext + 1 == answered.count ? 0 : answeredNext + 1
    }

    private func remember(_ requestID: UInt64) {
        if abandoned.count == Self.rememberedAbandoned, let oldest = abandoned.popFirst() {
            abandonedSet.remove(oldest)
        }
        abandoned.append(requestID)
        abandonedSet.insert(requestID)
    }
}

/// The requests in flight on one connection, by request ID: two parallel arrays searched linearly (the count is
/// bounded by ``PoolConfiguration/maxInFlightPerConnection``), which beats hashing at the sizes a connection carries
/// and allocates nothing once grown.
struct InFlightTable<Entry> {
    private var ids: [UInt64] = []
    private var entries: [Entry] = []

    mutating func insert(_ id: UInt64, _ entry: Entry) {
        ids.append(id)
        entries.append(entry)
    }

    mutating func remove(_ id: UInt64) -> Entry? {
        guard let i = ids.firstIndex(of: id) else { return nil }
        let last = ids.count - 1
        if i != last {
            ids.swapAt(i, last)
            entries.swapAt(i, last)
        }
        ids.removeLast()
        return entries.removeLast()
    }

    func forEach(_ body: (UInt64, Entry) -> Void) {
        for i in ids.indices { body(ids[i], entries[i]) }
    }

    /// Empties the table, returning what it held.
    mutating func removeAll() -> [Entry] {
        defer {
            ids.removeAll(keepingCapacity: true)
            entries.removeAll(keepingCapacity: true)
        }
        return entries
    }
}
