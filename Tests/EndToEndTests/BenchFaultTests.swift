import Foundation
import MindAlphaBench
import MindAlphaPool
import MindAlphaWire
import NIOCore
import Synchronization
import TestSupport
import Testing

/// A misbehaving instance beside a healthy `serve`: outlier detection ejects it fast, the healthy one keeps its
/// throughput, nothing hangs, the counts add up.
extension BenchTests {
    /// The ways an instance goes wrong, each as a scripted server.
    enum Fault: String, CaseIterable, Sendable {
        case neverReads, neverAnswers, oneBytePerSecond, unknownIDsOnly, wrongMetaLength, emptyAnswers, closesEveryFive, answersTwice

        /// Ejections for these come from timeouts: allowed three request timeouts, not one second.
        var timesOut: Bool { [.neverReads, .neverAnswers, .oneBytePerSecond, .unknownIDsOnly].contains(self) }

        func start() async throws -> ScriptedServer {
            let body = ByteBuffer(string: "ok")
            switch self {
            case .neverReads: return try await .deaf()
            case .neverAnswers: return try await .mute()
            case .oneBytePerSecond:
                return try await .start { frame in
                    var answer = ByteBuffer()
                    answer.writeResponseFrame(requestID: frame.requestID, body: body)
                    return [.trickle(answer, every: .seconds(1))]
                }
            case .unknownIDsOnly: return try await .start { [.respond(id: $0.requestID + 1_000_000_000, body: body)] }
            case .wrongMetaLength:
                // meta_size 16 with 16 meta bytes: a client reading the 8 the protocol has loses step.
                return try await .start { frame in
                    var answer = ByteBuffer()
                    FrameHeader(metaSize: 16, dataSize: 2, classID: ProcessorClassID.response, requestID: frame.requestID).write(to: &answer)
                    answer.writeRepeatingByte(0, count: 16)
                    answer.writeString("ok")
                    return [.raw(answer)]
                }
            case .emptyAnswers: return try await .start { [.respond(id: $0.requestID, body: ByteBuffer())] }
            case .closesEveryFive:
                return try await .start(perConnection: {
                    let answered = Atomic<Int>(0)
                    return { frame in
                        answered.add(1, ordering: .relaxed).newValue % 6 == 0 ? [.close] : [.respond(id: frame.requestID, body: body)]
                    }
                })
            case .answersTwice: return try await .start { [.respond(id: $0.requestID, body: body), .respond(id: $0.requestID, body: body)] }
            }
        }
    }

    @Test(arguments: Fault.allCases)
    func aMisbehavingInstanceIsEjectedAndTheHealthyOneKeepsItsThroughput(_ fault: Fault) async throws {
        let (server, ports) = try await Self.serve(1)
        defer { server.terminate() }
        let healthy = "127.0.0.1:\(ports[0])"
        let common = ["--conns", "4", "--duration", "3s", "--timeout", "300ms", "--json"]
        let bad = try await fault.start()
        // Alone, then beside the bad one; a pair spoiled by a parallel test's load (a burst of it lands on one run of
        // the pair and not the other) is measured again, up to four pairs: on a loaded 2-core machine one spoiled
        // pair in a few happens, two in a row did, four in a row of a working client would be a change in kind.
        var pairs: [(alone: Int, beside: Int)] = []
        var r: BenchReport
        var took: TimeInterval
        repeat {
            let alone = try Self.report(try await Tool.run(["bench", "--target", healthy] + common))
            let started = Date()
            r = try Self.report(try await Tool.run(["bench", "--target", healthy, "--target", "127.0.0.1:\(bad.port)"] + common))
            took = Date().timeIntervalSince(started)
            pairs.append((alone.ok, r.instances.first { $0.address == healthy }?.ok ?? 0))
        } while Double(pairs.last!.beside) < 0.8 * Double(pairs.last!.alone) && pairs.count < 4
        await bad.stop()
        let ejection = r.events.first { $0.kind == "ejected" && $0.instance == "127.0.0.1:\(bad.port)" }
        #expect(ejection != nil, "\(fault): not ejected; events \(r.events.map(\.message))")
        #expect((ejection?.at ?? 99) <= (fault.timesOut ? 0.9 : 1.0), "\(fault): ejected at \(ejection?.at ?? -1) s")
        #expect(Double(pairs.last!.beside) >= 0.8 * Double(pairs.last!.alone), "\(fault): healthy ok alone / beside: \(pairs)")
        #expect(took < 6, "\(fault): a 3 s run took \(took) s")
        #expect(r.client!.maxRSSBytes < 200 << 20)
        // No reconnect storm: 4 connections each, then a few for the probes of the ejected one.
        #expect(r.connections!.opened <= 40, "\(fault): \(r.connections!.opened) connects")
        #expect(r.instances.first { $0.address == healthy }?.errors == 0)
        Self.expectAddsUp(r)
    }
}

extension BenchTests {
    @Test func outlierDetectionFollowsItsFlags() async throws {
        let (server, ports) = try await Self.serve(1)
        defer { server.terminate() }
        let silent = try await ScriptedServer.mute()
        let base = ["bench", "--target", "127.0.0.1:\(ports[0])", "--target", "127.0.0.1:\(silent.port)", "--conns", "2",
                    "--duration", "1s", "--timeout", "200ms", "--json"]
        let off = try Self.report(try await Tool.run(base + ["--eject-after", "0", "--eject-rate", "0"]))
        #expect(!off.events.contains { $0.kind == "ejected" })
        #expect(off.errors["timeout", default: 0] > 0)
        let none = try Self.report(try await Tool.run(base + ["--max-ejected", "0"]))
        #expect(!none.events.contains { $0.kind == "ejected" } && none.events.contains { $0.kind == "not_ejected" })
        let usage = try await Tool.run(base + ["--max-ejected", "2"])
        #expect(usage.status == 64 && usage.stderr.contains("--max-ejected"))
        await silent.stop()
    }
}
