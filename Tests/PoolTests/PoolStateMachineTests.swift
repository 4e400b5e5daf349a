@testable import MindAlphaPool
import NIOCore
import Testing

/// The pool's decisions without sockets: connections are strings, waiters are ints, time is given.
@Suite struct PoolStateMachineTests {
    typealias Machine = PoolStateMachine<String, Int>

    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func instance(_ port: Int, weight: Int) -> Instance {
        Instance(host: "10.0.0.1", port: port, serviceID: "s\(port)", balanceFactor: String(weight))
    }

    /// Consecutive failures only (no failure-rate detector), no reconnect back-off, unless asked.
    static func machine(
        max: Int = 2, inFlight: Int = 1, threshold: Int = 3, failureRate: Double = 0, maxEjectedShare: Double = 0.5,
        reconnectBase: Duration = .zero, emptySetGrace: Duration = .zero
    ) -> Machine {
        let policy = EjectionPolicy(consecutiveFailures: threshold, failureRate: failureRate, maxEjectedShare: maxEjectedShare,
                                    reconnectBase: reconnectBase)
        return Machine(limits: .init(maxConnections: max, maxInFlight: inFlight, ejection: policy, emptySetGrace: emptySetGrace),
                       algorithm: .lvs, sourceName: "svc")
    }

    /// Applies `instances` and opens every connection asked for, named `address#n`.
    static func start(_ m: inout Machine, _ instances: [Instance]) -> [InstanceKey: String] {
        var keys: [InstanceKey: String] = [:]
        var next = 0
        for dial in m.update(instances, now: t0).dials {
            keys[dial.key] = dial.instance.address
            for _ in 0..<dial.count {
                next += 1
                _ = m.connected(ConnectionID(raw: next), key: dial.key, connection: "\(dial.instance.address)#\(next)")
            }
        }
        return keys
    }

    static func sentTo(_ pick: Machine.Action) -> String? { pick.sentOn }

    @Test func startDialsTheMaximumPerInstanceAndPicksFollowTheWeights() {
        var m = Self.machine(max: 3)
        let dials = m.update([Self.instance(1, weight: 2), Self.instance(2, weight: 1)], now: Self.t0).dials
        #expect(dials.map(\.count) == [3, 3])
        var m2 = Self.machine(max: 10, inFlight: 100)
        _ = Self.start(&m2, [Self.instance(1, weight: 2), Self.instance(2, weight: 1)])
        var hosts: [String] = []
        for id in 0..<6 {
            let pick = m2.pick(id, id: UInt64(id), now: Self.t0)
            hosts.append(String(Self.sentTo(pick)!.split(separator: "#")[0]))
        }
        #expect(hosts == ["10.0.0.1:1", "10.0.0.1:1", "10.0.0.1:2"] + ["10.0.0.1:1", "10.0.0.1:1", "10.0.0.1:2"])
    }

    @Test func idleConnectionsFirstThenMoreAreOpenedThenTheLeastLoadedIsShared() {
        var m = Self.machine(max: 2, inFlight: 2)
        let dial = m.update([Self.instance(1, weight: 1)], now: Self.t0).dials[0]
        _ = m.connected(ConnectionID(raw: 1), key: dial.key, connection: "a")
        // One open, one still connecting: the idle one first, then it is shared (no more dials: at the maximum).
        let first = m.pick(1, id: 1, now: Self.t0)
        #expect(Self.sentTo(first) == "a" && first.dial == nil)
        let second = m.pick(2, id: 2, now: Self.t0)
        #expect(Self.sentTo(second) == "a" && second.dial == nil)
        // Both slots of "a" are taken and "b" is not up yet: the next one waits.
        #expect(m.pick(3, id: 3, now: Self.t0).queuedIn == dial.key)
        // "b" comes up and takes the waiter at once.
        let connected = m.connected(ConnectionID(raw: 2), key: dial.key, connection: "b")
        #expect(connected.served == [3])
    }

    @Test func noIdleConnectionBelowTheMaximumOpensAnother() {
        var m = Self.machine(max: 3, inFlight: 5)
        let dial = m.update([Self.instance(1, weight: 1)], now: Self.t0).dials[0]
        #expect(dial.count == 3)
        _ = m.connected(ConnectionID(raw: 1), key: dial.key, connection: "a")
        _ = m.connectFailed(key: dial.key, error: .connectFailed(instance: "x", reason: "refused"), now: Self.t0)
        _ = m.connectFailed(key: dial.key, error: .connectFailed(instance: "x", reason: "refused"), now: Self.t0)
        #expect(m.pick(1, id: 1, now: Self.t0).dial == nil)  // "a" was idle
        let busy = m.pick(2, id: 2, now: Self.t0)
        #expect(Self.sentTo(busy) == "a")
        #expect(busy.dial?.count == 1)  // none idle, one open of three: open one more, share "a" meanwhile
    }

    @Test func waitersAreServedFirstComeFirstServed() {
        var m = Self.machine(max: 1, inFlight: 1)
        let keys = Self.start(&m, [Self.instance(1, weight: 1)])
        let key = keys.keys.first!
        _ = m.pick(0, id: 0, now: Self.t0)
        for w in 1...3 {
            #expect(m.pick(w, id: UInt64(w), now: Self.t0).queuedIn == key)
        }
        var order: [Int] = []
        for _ in 1...3 {
            let handoff = m.finished(ConnectionID(raw: 1), key: key, error: nil)
            #expect(handoff.servedOn == ConnectionID(raw: 1))
            order += handoff.served
        }
        #expect(order == [1, 2, 3])
        #expect(m.finished(ConnectionID(raw: 1), key: key, error: nil).isNothing)  // nobody waits
        #expect(m.statistics(now: Self.t0).instances[0].counters.ok == 4)
    }

    @Test func aQueueKeepsOneTimerForItsEarliestDeadline() {
        var m = Self.machine(max: 1, inFlight: 1)
        let key = Self.start(&m, [Self.instance(1, weight: 1)]).keys.first!
        _ = m.pick(0, id: 0, now: Self.t0)
        let first = m.pick(1, id: 1, now: Self.t0, deadline: Self.t0 + .seconds(1), timeout: .seconds(1))
        #expect(first.armed == Self.t0 + .seconds(1))
        #expect(m.pick(2, id: 2, now: Self.t0, deadline: Self.t0 + .seconds(2), timeout: .seconds(2)).armed == nil)  // later: no new timer
        // An earlier deadline: a timer for it, and the later one cancelled, each named by its deadline (actions are
        // applied out of order on several threads: a cancel must never hit a timer armed after the one it means).
        #expect(m.pick(3, id: 3, now: Self.t0, deadline: Self.t0 + .milliseconds(500), timeout: .milliseconds(500)).timer
            == .armQueue(key, at: Self.t0 + .milliseconds(500), replacing: Self.t0 + .seconds(1)))
        // The 1 s timer is no longer the queue's: it fails what is due and arms nothing.
        let stale = m.expireQueue(key, timer: Self.t0 + .seconds(1), now: Self.t0 + .milliseconds(100))
        #expect(stale.isNothing)
        let due = m.expireQueue(key, timer: Self.t0 + .milliseconds(500), now: Self.t0 + .milliseconds(1500))
        #expect(due.failed == [1, 3])
        #expect(due.fail.map(\.1) == [.noConnection(instance: "10.0.0.1:1", after: .seconds(1)),
                                      .noConnection(instance: "10.0.0.1:1", after: .milliseconds(500))])
        #expect(due.armed == Self.t0 + .seconds(2))
        #expect(m.statistics(now: Self.t0).instances[0].counters[.unavailable] == 2)
        #expect(m.statistics(now: Self.t0).instances[0].waiting == 1)
        let last = m.expireQueue(key, timer: Self.t0 + .seconds(2), now: Self.t0 + .seconds(2))
        #expect(last.failed == [2] && last.armed == nil)
    }

    @Test func aQueueThatEmptiesAsksForItsTimerToBeCancelled() {
        var m = Self.machine(max: 1, inFlight: 1)
        let key = Self.start(&m, [Self.instance(1, weight: 1)]).keys.first!
        _ = m.pick(0, id: 0, now: Self.t0)
        #expect(m.pick(1, id: 1, now: Self.t0, deadline: Self.t0 + .seconds(1), timeout: .seconds(1)).armed != nil)
        let served = m.finished(ConnectionID(raw: 1), key: key, error: nil)
        #expect(served.served == [1] && served.timer == .cancelQueue(key, at: Self.t0 + .seconds(1)))
        // The next waiter arms a timer again; its cancellation empties the queue and cancels that one.
        #expect(m.pick(2, id: 2, now: Self.t0, deadline: Self.t0 + .seconds(3), timeout: .seconds(2)).armed == Self.t0 + .seconds(3))
        let cancelled = m.cancel(id: 2, key: key)
        #expect(cancelled.failed == [2] && cancelled.fail.map(\.1) == [.cancelled] && cancelled.cancelsQueueTimer)
        #expect(m.drain().timer == .cancelAll)
    }

    @Test func shutdownIsCompleteOnceTheLastRequestFinishedAndIsSaidOnce() {
        var m = Self.machine(max: 2, inFlight: 1)
        let key = Self.start(&m, [Self.instance(1, weight: 1)]).keys.first!
        _ = m.pick(1, id: 1, now: Self.t0)
        _ = m.pick(2, id: 2, now: Self.t0)
        #expect(!m.drain().shutdownComplete)
        let first = m.finished(ConnectionID(raw: 1), key: key, error: nil)
        #expect(first.closed == ["10.0.0.1:1#1"] && !first.shutdownComplete)
        let last = m.finished(ConnectionID(raw: 2), key: key, error: nil)
        #expect(last.closed == ["10.0.0.1:1#2"] && last.shutdownComplete)
        #expect(!m.closed(ConnectionID(raw: 2), key: key, error: nil, now: Self.t0).shutdownComplete)
        // Nothing in flight when the drain starts: complete at once.
        var idle = Self.machine(max: 1, inFlight: 1)
        _ = Self.start(&idle, [Self.instance(1, weight: 1)])
        #expect(idle.drain().shutdownComplete)
    }

    @Test func aCancelledWaiterLeavesTheQueueAndIsCounted() {
        var m = Self.machine(max: 1, inFlight: 1)
        let key = Self.start(&m, [Self.instance(1, weight: 1)]).keys.first!
        _ = m.pick(0, id: 10, now: Self.t0)
        _ = m.pick(1, id: 11, now: Self.t0)
        _ = m.pick(2, id: 12, now: Self.t0)
        #expect(m.cancel(id: 11, key: key).failed == [1])
        #expect(m.cancel(id: 11, key: key).isNothing)
        #expect(m.finished(ConnectionID(raw: 1), key: key, error: nil).served == [2])
        #expect(m.statistics(now: Self.t0).instances[0].counters[.cancelled] == 1)
    }

    @Test func repeatedConnectionFailuresEjectForABackoffThenTheInstanceComesBack() {
        var m = Self.machine(max: 1, inFlight: 10, threshold: 2)
        let keys = Self.start(&m, [Self.instance(1, weight: 1), Self.instance(2, weight: 1)])
        let bad = keys.first { $0.value == "10.0.0.1:1" }!.key
        let error = PoolError.connectionClosed(instance: "10.0.0.1:1", reason: "reset")
        let lost1 = m.closed(ConnectionID(raw: 1), key: bad, error: error, now: Self.t0)
        #expect(lost1.ejected == nil)
        let lost2 = m.closed(ConnectionID(raw: 99), key: bad, error: error, now: Self.t0)
        #expect(lost2.ejectedAddress == "10.0.0.1:1")
        // Ejected: every pick goes to the other instance for one second.
        for i in 0..<5 {
            let pick = m.pick(i, id: UInt64(i), now: Self.t0 + .milliseconds(500))
            #expect(Self.sentTo(pick)?.hasPrefix("10.0.0.1:2") == true)
        }
        #expect(m.statistics(now: Self.t0 + .milliseconds(500)).instances.first { $0.instance.port == 1 }?.ejectedFor != nil)
        // After the backoff it is picked again (and, with nothing open, a connect is asked for).
        var picked = false
        for i in 0..<4 {
            let pick = m.pick(i, id: UInt64(i), now: Self.t0 + .milliseconds(1100))
            if pick.queuedIn == bad, pick.dial != nil { picked = true }
        }
        #expect(picked)
    }

    @Test func theFleetsHistoryIsLoggedWithExactTimesAndTheFirstSetIsNotAJoin() {
        var m = Self.machine(max: 1, inFlight: 10, threshold: 2)
        let keys = Self.start(&m, [Self.instance(1, weight: 100), Self.instance(2, weight: 200)])
        #expect(m.events.events.isEmpty)
        let bad = keys.first { $0.value == "10.0.0.1:1" }!.key
        let error = PoolError.connectionClosed(instance: "10.0.0.1:1", reason: "connection reset by peer")
        _ = m.closed(ConnectionID(raw: 1), key: bad, error: error, now: Self.t0 + .milliseconds(10))
        _ = m.closed(ConnectionID(raw: 99), key: bad, error: error, now: Self.t0 + .milliseconds(20))
        // The ejection ran out at 1.020 s: a probe goes out on a new connection and is answered.
        var probe: Machine.Action
        repeat { probe = m.pick(1, id: 1, now: Self.t0 + .milliseconds(1500)) } while probe.dial == nil
        _ = m.connected(ConnectionID(raw: 100), key: bad, connection: "probe")
        _ = m.finished(ConnectionID(raw: 100), key: bad, error: nil, now: Self.t0 + .milliseconds(1600))
        _ = m.update([Self.instance(1, weight: 100), Self.instance(2, weight: 50), Self.instance(3, weight: 10)], now: Self.t0 + .seconds(2))
        _ = m.update([Self.instance(2, weight: 50), Self.instance(3, weight: 10)], now: Self.t0 + .seconds(3))
        let log = m.events.events.map { ($0.at, $0.instance, $0.kind) }
        #expect(log.count == 5)
        #expect(log[0] == (Self.t0 + .milliseconds(20), "10.0.0.1:1", .ejected(
            reason: "2 failures in a row (connections closed: connection reset by peer)", duration: .seconds(1))))
        #expect(log[1] == (Self.t0 + .milliseconds(1600), "10.0.0.1:1", .returned))
        #expect(log[2] == (Self.t0 + .seconds(2), "10.0.0.1:2", .reweighted(from: 200, to: 50)))
        #expect(log[3] == (Self.t0 + .seconds(2), "10.0.0.1:3", .joined(weight: 10)))
        #expect(log[4] == (Self.t0 + .seconds(3), "10.0.0.1:1", .left))
        #expect(m.events.events.first!.description
            == "10.0.0.1:1 ejected for 1s: 2 failures in a row (connections closed: connection reset by peer)")
    }

    @Test func whenEveryInstanceIsEjectedRequestsFailAtOnceSayingWhenTheFirstReturns() {
        var m = Self.machine(max: 1, inFlight: 1, threshold: 1, maxEjectedShare: 1)
        let key = Self.start(&m, [Self.instance(1, weight: 1)]).keys.first!
        _ = m.closed(ConnectionID(raw: 1), key: key, error: .connectionClosed(instance: "a", reason: "reset"), now: Self.t0)
        #expect(m.pick(7, id: 7, now: Self.t0).failure == .allEjected(instances: 1, retryIn: .seconds(1)))
        #expect(m.statistics(now: Self.t0).unplaced[.unavailable] == 1)
    }

    @Test func connectFailuresWithNothingOpenFailTheWaitersOfThatInstance() {
        var m = Self.machine(max: 1, inFlight: 1, threshold: 0)
        let dial = m.update([Self.instance(1, weight: 1)], now: Self.t0).dials[0]
        #expect(m.pick(1, id: 1, now: Self.t0).queuedIn == dial.key)
        let error = PoolError.connectFailed(instance: "10.0.0.1:1", reason: "refused")
        let lost = m.connectFailed(key: dial.key, error: error, now: Self.t0)
        #expect(lost.failed == [1] && lost.fail.map(\.1) == [error])
        #expect(lost.dial == nil)
    }

    @Test func aLostConnectionWithWaitersAndNothingOpenIsReplaced() {
        var m = Self.machine(max: 1, inFlight: 1, threshold: 5)
        let key = Self.start(&m, [Self.instance(1, weight: 1)]).keys.first!
        _ = m.pick(1, id: 1, now: Self.t0)
        _ = m.pick(2, id: 2, now: Self.t0)
        let lost = m.closed(ConnectionID(raw: 1), key: key, error: .connectionClosed(instance: "a", reason: "EOF"), now: Self.t0)
        #expect(lost.dial?.count == 1)
        #expect(lost.failed.isEmpty)
    }

    @Test func removedInstancesLeaveTheScheduleAtOnceAndCloseWhenTheirRequestsFinish() {
        var m = Self.machine(max: 2, inFlight: 1)
        let keys = Self.start(&m, [Self.instance(1, weight: 1), Self.instance(2, weight: 1)])
        let gone = keys.first { $0.value == "10.0.0.1:1" }!.key
        // One request in flight on each of instance 1's two connections? One: then one idle, one busy.
        var busy: ConnectionID?
        for i in 0..<2 {
            if case let .send(_, id, key) = m.pick(i, id: UInt64(i), now: Self.t0).request, key == gone { busy = id }
        }
        #expect(busy != nil)
        let updated = m.update([Self.instance(2, weight: 1)], now: Self.t0)
        #expect(updated.close.count == 1)  // the idle one
        #expect(updated.dials.isEmpty)
        for i in 0..<4 {
            let pick = m.pick(i, id: UInt64(i), now: Self.t0)
            guard case let .send(connection, id, key) = pick.request else { Issue.record("expected a send"); return }
            #expect(connection.hasPrefix("10.0.0.1:2"))
            _ = m.finished(id, key: key, error: nil)
        }
        #expect(m.statistics(now: Self.t0).instances.contains { $0.removed })
        #expect(m.finished(busy!, key: gone, error: nil).closed.count == 1)
        #expect(!m.statistics(now: Self.t0).instances.contains { $0.removed })
    }

    @Test func aWeightChangeTakesEffectOnTheNextPick() {
        var m = Self.machine(max: 1, inFlight: 1000)
        _ = Self.start(&m, [Self.instance(1, weight: 1), Self.instance(2, weight: 1)])
        _ = m.update([Self.instance(1, weight: 3), Self.instance(2, weight: 1)], now: Self.t0)
        var counts: [Int: Int] = [:]
        for i in 0..<400 {
            if let connection = m.pick(i, id: UInt64(i), now: Self.t0).sentOn {
                counts[connection.hasPrefix("10.0.0.1:1#") ? 1 : 2, default: 0] += 1
            }
        }
        #expect(counts[1] == 300 && counts[2] == 100)
    }

    @Test func drainingFailsWaitersClosesIdleConnectionsAndBusyOnesAsTheyFinish() {
        var m = Self.machine(max: 2, inFlight: 1)
        let key = Self.start(&m, [Self.instance(1, weight: 1)]).keys.first!
        _ = m.pick(1, id: 1, now: Self.t0)
        _ = m.pick(2, id: 2, now: Self.t0)
        _ = m.pick(3, id: 3, now: Self.t0)
        let drained = m.drain()
        #expect(drained.failed == [3] && drained.fail.map(\.1) == [.unfinished(instance: "10.0.0.1:1")])
        #expect(drained.close.isEmpty)
        #expect(m.inFlight == 2)
        #expect(m.pick(4, id: 4, now: Self.t0).failure == .shuttingDown)
        let closing = m.finished(ConnectionID(raw: 1), key: key, error: nil)
        #expect(closing.closed == ["10.0.0.1:1#1"] && closing.close.map(\.1) == [.shuttingDown])
        #expect(m.inFlight == 1)
        let rest = m.removeAllConnections()
        #expect(rest.closed == ["10.0.0.1:1#2"] && rest.close.map(\.1) == [.unfinished(instance: "10.0.0.1:1")])
    }

    @Test func checkoutsTakeOnlyIdleConnectionsAndWaitInTheSameQueue() {
        var m = Self.machine(max: 1, inFlight: 4)
        let key = Self.start(&m, [Self.instance(1, weight: 1)]).keys.first!
        _ = m.pick(1, id: 1, now: Self.t0)  // a request in flight: not idle
        #expect(m.pick(2, id: 2, lease: true, now: Self.t0).queuedIn == key)
        // Nobody overtakes a waiter: a request behind the checkout waits though the connection has room.
        #expect(m.pick(3, id: 3, now: Self.t0).queuedIn == key)
        let checkout = m.finished(ConnectionID(raw: 1), key: key, error: nil).servedOne  // the idle connection
        #expect(checkout?.waiter == 2 && checkout?.lease == true)
        #expect(m.finished(ConnectionID(raw: 1), key: key, error: nil, lease: true).served == [3])  // after the checkin
    }

    @Test func noInstancesIsAnErrorNamingTheSource() {
        var m = Self.machine()
        #expect(m.pick(1, id: 1, now: Self.t0).failure == .noInstances("svc"))
    }
}
