@testable import MindAlphaPool
import NIOCore
import Testing

/// Outlier detection, reconnect pacing and held-back empty sets, in the state machine alone.
@Suite struct OutlierDetectionTests {
    typealias M = PoolStateMachineTests
    typealias Machine = PoolStateMachineTests.Machine

    static let t0 = PoolStateMachineTests.t0

    /// Two instances of weight 1 with one connection each (`10.0.0.1:1#1`, `10.0.0.1:2#2`); returns their keys.
    static func two(_ m: inout Machine) -> (InstanceKey, InstanceKey) {
        let keys = M.start(&m, [M.instance(1, weight: 1), M.instance(2, weight: 1)])
        return (keys.first { $0.value == "10.0.0.1:1" }!.key, keys.first { $0.value == "10.0.0.1:2" }!.key)
    }

    static func host(_ pick: Machine.Action) -> String? { pick.sentOn.map { String($0.split(separator: "#")[0]) } }

    @Test func aRunOfTimeoutsEjectsAndTheInstanceComesBackThroughOneProbeAtATime() {
        var m = M.machine(max: 1, inFlight: 100, threshold: 5)
        let (a, _) = Self.two(&m)
        for id in 0..<10 { _ = m.pick(id, id: UInt64(id), now: Self.t0) }  // five on each
        for n in 1...4 {
            #expect(m.finished(ConnectionID(raw: 1), key: a, error: .timeout, now: Self.t0).isNothing, "ejected after \(n)")
        }
        let ejection = m.finished(ConnectionID(raw: 1), key: a, error: .timeout, now: Self.t0)
        #expect(ejection.ejectedAddress == "10.0.0.1:1" && ejection.closed == ["10.0.0.1:1#1"])
        #expect(ejection.close.map(\.1) == [.connectionClosed(instance: "10.0.0.1:1", reason: "the instance was ejected")])
        let stats = m.statistics(now: Self.t0)
        #expect(stats.instances.first { $0.instance.port == 1 }?.ejectedFor == .seconds(1))
        #expect((0..<6).allSatisfy { Self.host(m.pick(100 + $0, id: UInt64(100 + $0), now: Self.t0 + .milliseconds(500))) == "10.0.0.1:2" })
        // After a second, on probation: one request goes to it (waiting for a new connection), the rest elsewhere.
        var toA = 0
        for i in 0..<6 {
            let pick = m.pick(200 + i, id: UInt64(200 + i), now: Self.t0 + .milliseconds(1100))
            if pick.queuedIn == a { toA += 1 }
        }
        #expect(toA == 1)
        #expect(m.statistics(now: Self.t0 + .milliseconds(1100)).instances.first { $0.instance.port == 1 }?.probing == true)
        // The probe fails: out again, for twice as long.
        _ = m.connected(ConnectionID(raw: 3), key: a, connection: "10.0.0.1:1#3")
        let again = m.finished(ConnectionID(raw: 3), key: a, error: .timeout, now: Self.t0 + .milliseconds(1200))
        #expect(again.ejectedAddress == "10.0.0.1:1" && again.closed == ["10.0.0.1:1#3"])
        #expect(m.statistics(now: Self.t0 + .milliseconds(1200)).instances.first { $0.instance.port == 1 }?.ejectedFor == .seconds(2))
        // Next time the probe is answered: back in the schedule, an event says so.
        var probe: Machine.Action
        repeat { probe = m.pick(300, id: 300, now: Self.t0 + .milliseconds(3300)) } while probe.dial == nil
        _ = m.connected(ConnectionID(raw: 4), key: a, connection: "10.0.0.1:1#4")
        _ = m.finished(ConnectionID(raw: 4), key: a, error: nil, now: Self.t0 + .milliseconds(3400))
        #expect(m.events.events.map(\.kindName) == ["ejected", "ejected", "returned"])
        let hosts = (0..<4).compactMap { Self.host(m.pick(400 + $0, id: UInt64(400 + $0), now: Self.t0 + .milliseconds(3500))) }
        #expect(Set(hosts) == ["10.0.0.1:1", "10.0.0.1:2"])
    }

    @Test func aFlakyInstanceIsEjectedByItsShareOfFailuresAndUnmatchedAnswersCount() {
        // Consecutive failures off: only the share of the last outcomes can eject.
        var m = M.machine(max: 1, inFlight: 1000, threshold: 0, failureRate: 0.1)
        let (a, b) = Self.two(&m)
        for id in 0..<200 { _ = m.pick(id, id: UInt64(id), now: Self.t0) }
        var outcomes = 0
        var ejected = false
        // One in six fails (a server that closes every five answers).
        while !ejected, outcomes < 64 {
            outcomes += 1
            let error: PoolError.Class? = outcomes % 6 == 0 ? .closed : nil
            if m.finished(ConnectionID(raw: 1), key: a, error: error, now: Self.t0).ejected != nil { ejected = true }
        }
        #expect(ejected && outcomes == 24)  // 4 of 24 (≥ 20 known, ≥ 10 %)
        #expect(m.events.events.first?.description.contains("4 of its last 64 outcomes failed (connections closed)") == true)
        // B answers, and answers each request twice: the duplicates are failures too, but the fleet's other half is
        // already out.
        for _ in 0..<30 {
            _ = m.finished(ConnectionID(raw: 2), key: b, error: nil, now: Self.t0)
            _ = m.noteDuplicate(key: b, now: Self.t0)
        }
        #expect(m.statistics(now: Self.t0).instances.first { $0.instance.port == 2 }?.ejectedFor == nil)
        #expect(m.events.events.filter { $0.kindName == "not_ejected" }.count == 1)  // said once
        #expect(m.events.events.last?.description == "10.0.0.1:2 not ejected though failing: 1 of 2 instances already are, the most allowed (it stays in the schedule)")
    }

    @Test func thisClientsOwnLimitsNeverCountAgainstAnInstanceButReconnectsBackOff() {
        var m = M.machine(max: 1, inFlight: 1, threshold: 2, reconnectBase: .milliseconds(20))
        let (a, _) = Self.two(&m)
        let limit = PoolError.clientLimit(instance: "10.0.0.1:1", reason: "too many open files")
        _ = m.closed(ConnectionID(raw: 1), key: a, error: nil, now: Self.t0)  // closed by the pool: no failure
        var delays: [Int64] = []
        var now = Self.t0
        for n in 0..<5 {
            // Demand right after the last failure: the connect is asked for after the back-off.
            var pick: Machine.Action
            repeat { pick = m.pick(n, id: UInt64(n), now: now) } while pick.dial == nil
            delays.append(pick.dial!.at.map { ($0 - now).nanoseconds / 1_000_000 } ?? 0)
            now = pick.dial!.at ?? now
            let lost = m.connectFailed(key: a, error: limit, now: now)
            #expect(lost.ejected == nil)
        }
        #expect(m.statistics(now: Self.t0).instances.first { $0.instance.port == 1 }?.ejectedFor == nil)
        // 0, then about 20, 40, 80, 160 ms (±20 %).
        #expect(delays[0] == 0)
        for (n, expected) in [(1, 20.0), (2, 40.0), (3, 80.0), (4, 160.0)] {
            #expect(Double(delays[n]) >= expected * 0.79 && Double(delays[n]) <= expected * 1.21, "\(delays)")
        }
        // One answer clears the back-off.
        var pick: Machine.Action
        repeat { pick = m.pick(9, id: 9, now: Self.t0 + .seconds(9)) } while pick.dial == nil
        _ = m.connected(ConnectionID(raw: 10), key: a, connection: "10.0.0.1:1#10")
        _ = m.finished(ConnectionID(raw: 10), key: a, error: nil, now: Self.t0 + .seconds(9))
        _ = m.closed(ConnectionID(raw: 10), key: a, error: nil, now: Self.t0 + .seconds(9))
        repeat { pick = m.pick(10, id: 10, now: Self.t0 + .seconds(10)) } while pick.dial == nil
        #expect(pick.dial?.at == nil)
    }

    @Test func anEmptySetIsHeldBackForItsGraceAndForgottenWhenInstancesAreListedAgain() {
        var m = M.machine(max: 1, emptySetGrace: .seconds(10))
        _ = M.start(&m, [M.instance(1, weight: 1)])
        let held = m.update([], now: Self.t0)
        #expect(held.emptySetAt == Self.t0 + .seconds(10) && held.close.isEmpty)
        #expect(Self.host(m.pick(1, id: 1, now: Self.t0)) == "10.0.0.1:1")
        #expect(m.events.events.map(\.kindName) == ["consul_empty"])
        #expect(m.update([], now: Self.t0 + .seconds(5)).emptySetAt == Self.t0 + .seconds(10))  // still the first
        _ = m.update([M.instance(1, weight: 1)], now: Self.t0 + .seconds(6))
        #expect(m.applyHeldBackEmptySet(now: Self.t0 + .seconds(10)).close.isEmpty)
        #expect(m.statistics(now: Self.t0 + .seconds(10)).instances.count == 1)
        // An empty set that persists applies once its grace is over.
        _ = m.update([], now: Self.t0 + .seconds(20))
        #expect(m.applyHeldBackEmptySet(now: Self.t0 + .seconds(25)).close.isEmpty)  // too early
        _ = m.applyHeldBackEmptySet(now: Self.t0 + .seconds(30))
        #expect(m.pick(2, id: 2, now: Self.t0 + .seconds(30)).failure == .noInstances("svc"), "the empty set did not apply")
        #expect(m.events.events.map(\.kindName) == ["consul_empty", "consul_empty", "left"])
    }
}
