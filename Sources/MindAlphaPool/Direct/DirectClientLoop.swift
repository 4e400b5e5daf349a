#if os(Linux)
import CEpoll
import Foundation
import Glibc
import MindAlphaWire
import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// One thread of the pool's direct engine: it owns its connections and waits for all of them, its wake-up and its
/// timers in one `epoll_pwait2` (timers to the nanosecond). Per ready connection it reads what is there into the
/// connection's one input buffer and cuts the answers from it in place; each answer finishes its request in the
/// pool, whose next request is written into that (or another) connection's output buffer and sent at once. No
/// event-loop hop, pipeline or allocation per request; the pool's decisions stay with its state machine.
///
/// Everything but ``execute(_:)``, ``inLoop`` and ``stop()`` runs on the loop's own thread.
final class DirectClientLoop: @unchecked Sendable {
    enum Timer {
        /// A connection's earliest request deadline.
        case requests(slot: Int, generation: UInt64)
        /// A connect's timeout.
        case connect(slot: Int, generation: UInt64)
        /// A ticker of ``run(every:)``.
        case ticker(Int)
    }

    static let wakeTag: UInt64 = 1 << 63

    let name: String
    private let epoll: Int32
    private let wake: Int32
    private let lock = NIOLock()
    private var jobs: [() -> Void] = []
    private var jobsRunning: [() -> Void] = []
    /// Requests written from other threads (an open loop's timer, another loop's completions): kept as values, not
    /// jobs, so that handing one over allocates nothing once the arrays have grown.
    private var sends: [(DirectConnection, PoolRequest, Bool)] = []
    private var sendsRunning: [(DirectConnection, PoolRequest, Bool)] = []
    private let stopping = Atomic<Bool>(false)
    private let owner = Atomic<UInt>(0)
    /// Fired when the thread has ended.
    let finished = Latch()

    // The loop's own, below.
    private var connections: [DirectConnection?] = []
    private var freeSlots: [Int] = []
    private var generations: UInt64 = 0
    private var timers = TimerHeap<Timer>()
    private var tickers: [() -> NIODeadline?] = []
    /// Connections with output to send once the burst of requests handed over is written.
    private var dirty: [Int] = []
    /// Writing a burst of requests handed over from other threads: connections send once it is all written.
    private(set) var coalescing = false
    let allocator = ByteBufferAllocator()

    init(name: String) {
        self.name = name
        epoll = mp_epoll_create()
        wake = mp_eventfd()
        _ = mp_epoll_ctl(epoll, mp_EPOLL_CTL_ADD, wake, mp_EPOLLIN, Self.wakeTag)
    }

    /// Whether the caller runs on this loop's thread.
    var inLoop: Bool { owner.load(ordering: .relaxed) == UInt(pthread_self()) }

    /// Runs `job` on the loop's thread, after what it is doing now (also when called from the loop itself).
    func execute(_ job: @escaping () -> Void) {
        let first = lock.withLock {
            jobs.append(job)
            return jobs.count == 1 && sends.isEmpty
        }
        if first, !inLoop { poke() }
    }

    /// Writes `request` on `connection` on the loop's thread (the caller runs on another).
    func send(_ request: PoolRequest, on connection: DirectConnection, leased: Bool) {
        let first = lock.withLock {
            sends.append((connection, request, leased))
            return sends.count == 1 && jobs.isEmpty
        }
        if first { poke() }
    }

    private func poke() {
        var one: UInt64 = 1
        _ = Glibc.write(wake, &one, 8)
    }

    /// Asks the loop to end: every connection it still has is closed, failing what is in flight on it.
    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        poke()
    }

    /// Starts the loop on a thread of its own.
    func start() {
        let thread = Thread { [self] in
            mp_name_thread(name)
            run()
            finished.fire()
        }
        thread.start()
    }

    private func run() {
        owner.store(UInt(pthread_self()), ordering: .relaxed)
        let capacity = 512
        var tags = [UInt64](repeating: 0, count: capacity)
        var events = [UInt32](repeating: 0, count: capacity)
        while !stopping.load(ordering: .relaxed) {
            let n = tags.withUnsafeMutableBufferPointer { t in
                events.withUnsafeMutableBufferPointer { e in
                    mp_epoll_wait_ns(epoll, t.baseAddress, e.baseAddress, Int32(capacity), waitTimeout())
                }
            }
            if n < 0, errno != EINTR { break }
            for i in 0..<max(0, Int(n)) { handle(tag: tags[i], events: events[i]) }
            runJobs()
            fireTimers()
        }
        runJobs()
        for case let c? in connections { c.fail(.shuttingDown, byPool: true) }
        runJobs()
        Glibc.close(epoll)
    }

    /// The eventfd closes only once nothing can poke it any more: a job handed over after the loop ended must not
    /// write to a descriptor number the process has given to another file since.
    deinit { Glibc.close(wake) }

    /// Nanoseconds until the next timer (an open loop's ticker is due every 50 µs or more: a millisecond's rounding
    /// would send its requests in bursts up to 1 ms late), 0 when jobs are waiting, -1 for none.
    private func waitTimeout() -> Int64 {
        if lock.withLock({ !jobs.isEmpty || !sends.isEmpty }) { return 0 }
        guard let next = timers.next else { return -1 }
        return max(0, min((next - .now()).nanoseconds, 60_000_000_000))
    }

    private func handle(tag: UInt64, events: UInt32) {
        if tag == Self.wakeTag {
            var count: UInt64 = 0
            _ = Glibc.read(wake, &count, 8)
            return
        }
        let slot = Int(tag & 0xFFFF_FFFF)
        guard slot < connections.count, let c = connections[slot], c.generation == tag >> 32 else { return }
        c.ready(events: events)
    }

    private func runJobs() {
        while true {
            lock.withLock {
                swap(&jobs, &jobsRunning)
                swap(&sends, &sendsRunning)
            }
            if jobsRunning.isEmpty, sendsRunning.isEmpty { return }
            coalescing = true
            for (connection, request, leased) in sendsRunning { connection.send(request, leased: leased) }
            coalescing = false
            sendsRunning.removeAll(keepingCapacity: true)
            flushDirty()
            for job in jobsRunning { job() }
            jobsRunning.removeAll(keepingCapacity: true)
        }
    }

    private func fireTimers() {
        guard timers.next != nil else { return }
        let now = NIODeadline.now()
        while let (deadline, timer) = timers.popDue(now: now) {
            switch timer {
            case let .requests(slot, generation):
                if let c = connection(slot, generation) { c.timerFired(deadline, now: now) }
            case let .connect(slot, generation):
                if let c = connection(slot, generation) { c.connectTimedOut() }
            case let .ticker(index):
                tick(index)
            }
        }
    }

    /// Calls `tick` on the loop's thread at once, then whenever the deadline it returns comes, until it returns
    /// `nil`. What it sends in one call goes out in one send per connection.
    func run(every tick: @escaping () -> NIODeadline?) {
        execute { [self] in
            tickers.append(tick)
            self.tick(tickers.count - 1)
        }
    }

    private func tick(_ index: Int) {
        coalescing = true
        let next = tickers[index]()
        coalescing = false
        flushDirty()
        if let next { timers.push(next, .ticker(index)) }
    }

    private func connection(_ slot: Int, _ generation: UInt64) -> DirectConnection? {
        guard slot < connections.count, let c = connections[slot], c.generation == generation else { return nil }
        return c
    }

    private func flushDirty() {
        guard !dirty.isEmpty else { return }
        for slot in dirty { connections[slot]?.flush() }
        dirty.removeAll(keepingCapacity: true)
    }

    // MARK: for the connections

    /// A slot and a generation (never reused: the generation tells a stale event or timer from the slot's new owner)
    /// for a new connection on `fd`, watched for `events`.
    func adopt(_ fd: Int32, events: UInt32, make: (Int, UInt64) -> DirectConnection) -> DirectConnection {
        let slot: Int
        if let free = freeSlots.popLast() { slot = free } else { slot = connections.count; connections.append(nil) }
        generations += 1
        let c = make(slot, generations)
        connections[slot] = c
        _ = mp_epoll_ctl(epoll, mp_EPOLL_CTL_ADD, fd, events, Self.tag(slot, generations))
        return c
    }

    /// Watches a connection's socket for other events.
    func watch(_ c: DirectConnection, events: UInt32) {
        _ = mp_epoll_ctl(epoll, mp_EPOLL_CTL_MOD, c.fd, events, Self.tag(c.slot, c.generation))
    }

    /// The connection is closed: its slot is free.
    func release(_ c: DirectConnection) {
        guard c.slot < connections.count, connections[c.slot] === c else { return }
        connections[c.slot] = nil
        freeSlots.append(c.slot)
    }

    func arm(_ timer: Timer, at deadline: NIODeadline) { timers.push(deadline, timer) }

    /// The connection has output to send at the end of this wake-up.
    func markDirty(_ slot: Int) { dirty.append(slot) }

    private static func tag(_ slot: Int, _ generation: UInt64) -> UInt64 { generation << 32 | UInt64(slot) }
}
#endif
