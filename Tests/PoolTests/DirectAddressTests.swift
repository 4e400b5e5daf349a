#if os(Linux)
import Glibc
import Logging
@testable import MindAlphaPool
import NIOCore
import NIOPosix
import Testing

/// How the direct engine finds an instance: an address literal at once, a name off the loop (getaddrinfo blocks),
/// and a name's addresses in turn until one connects, as SwiftNIO's engine does.
@Suite(.timeLimit(.minutes(1))) struct DirectAddressTests {
    typealias F = PoolFixtures

    @Test func literalsAreTakenAtOnceAndNamesAreNot() throws {
        #expect(DirectAddresses.literal("127.0.0.1", port: 9000)?.count == 1)
        #expect(DirectAddresses.literal("::1", port: 9000)?.count == 1)
        #expect(DirectAddresses.literal("localhost", port: 9000) == nil)  // a name: resolved off the loop
        #expect(DirectAddresses.literal("300.1.1.1", port: 9000) == nil)
    }

    @Test(arguments: PoolFixtures.engines) func anInstanceListedByNameIsResolvedAndServedAndANameThatDoesNotIsSaid(_ engine: PoolEngine) async throws {
        let server = try await F.server()
        let port = F.port(server)
        let pool = try await F.pool(engine, [Instance(host: "localhost", port: port, serviceID: "by-name")])
        let response = try await pool.send(ByteBuffer(string: "hello"))
        #expect(response.instance == "localhost:\(port)" && response.body.readableBytes == 64)
        await pool.shutdown()
        // A name that does not resolve (an empty label: refused by the resolver itself, no query leaves the machine).
        let nowhere = try await F.pool(engine, [Instance(host: "nohost..invalid", port: port, serviceID: "nowhere")])
        await #expect {
            _ = try await nowhere.send(ByteBuffer(string: "hello"))
        } throws: { error in
            "\(error)".contains("nohost..invalid:\(port): cannot resolve 'nohost..invalid'") && "\(error)".contains("check the host name")
        }
        await nowhere.shutdown()
        try await server.shutdown()
    }

    @Test func aConnectTriesTheNextAddressWhenOneRefusesAndTellsTheLastFailure() async throws {
        let server = try await F.server()
        let port = F.port(server)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let core = PoolCore(
            configuration: PoolConfiguration(source: .fixed([]), engine: .direct(threads: 1)), group: group,
            logger: Logger(label: "test"))
        // The whole of 127/8 is the loopback; the server listens on 127.0.0.1 only, so .2 and .3 refuse.
        let refusing = DirectAddresses.literal("127.0.0.2", port: port)! + DirectAddresses.literal("127.0.0.3", port: port)!
        let listening = DirectAddresses.literal("127.0.0.1", port: port)!
        let loop = core.direct!.loops[0]
        func connect(_ addresses: [DirectAddresses.Address], within timeout: TimeAmount) async -> Result<Void, PoolError> {
            await withCheckedContinuation { done in
                loop.execute {
                    DirectConnection.connect(
                        to: addresses[...], by: .now() + timeout, on: loop, core: core, id: ConnectionID(raw: 1),
                        key: InstanceKey(raw: 1), instance: Instance(host: "a-name", port: port, serviceID: "a")
                    ) { result in
                        if case let .success(connection) = result { connection.close(failing: .shuttingDown) }
                        done.resume(returning: result.map { _ in })
                    }
                }
            }
        }
        let fallback = await connect(refusing + listening, within: .seconds(20))
        #expect(throws: Never.self) { try fallback.get() }
        let none = await connect(refusing, within: .seconds(20))
        #expect(throws: PoolError.self) { try none.get() }
        if case let .failure(error) = none {
            #expect(error.errorClass == PoolError.Class.connect && error.description.contains("refused"), "\(error)")
        }
        // An address that never answers (a listener whose accept queue is full: the kernel drops the SYNs) takes
        // its share of the timeout, not all of it: the next address still connects within the one timeout.
        let hole = try Self.blackHole()
        defer { for fd in hole.fds { Glibc.close(fd) } }
        let silent = DirectAddresses.literal("127.0.0.1", port: hole.port)!
        let past = await connect(silent + listening, within: .seconds(2))
        #expect(throws: Never.self) { try past.get() }
        let stuck = await connect(silent, within: .milliseconds(300))
        if case let .failure(error) = stuck {
            #expect(error.description.contains("timed out"), "\(error)")
        } else {
            Issue.record("a connect to an address that never answers succeeded")
        }
        await core.direct!.shutdown()
        try await group.shutdownGracefully()
        try await server.shutdown()
    }

    /// A listener on 127.0.0.1 whose accept queue (backlog 0) holds one connection that is never accepted: further
    /// connects to it get no answer at all. Its descriptors are the caller's to close.
    static func blackHole() throws -> (port: Int, fds: [Int32]) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { a in
            a.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Bool in
                bind(listener, p, length) == 0 && listen(listener, 0) == 0 && getsockname(listener, p, &length) == 0
            }
        }
        let filler = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let filled = withUnsafePointer(to: &address) { a in
            a.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(filler, $0, length) == 0 }
        }
        guard bound, filled else { throw PoolError.connectFailed(instance: "black hole", reason: String(cString: strerror(errno))) }
        return (Int(UInt16(bigEndian: address.sin_port)), [listener, filler])
    }
}
#endif
