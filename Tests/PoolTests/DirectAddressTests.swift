#if os(Linux)
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
        func connect(_ addresses: [DirectAddresses.Address]) async -> Result<Void, PoolError> {
            await withCheckedContinuation { done in
                loop.execute {
                    DirectConnection.connect(
                        to: addresses[...], by: .now() + .seconds(20), on: loop, core: core, id: ConnectionID(raw: 1),
                        key: InstanceKey(raw: 1), instance: Instance(host: "a-name", port: port, serviceID: "a")
                    ) { result in
                        if case let .success(connection) = result { connection.close(failing: .shuttingDown) }
                        done.resume(returning: result.map { _ in })
                    }
                }
            }
        }
        let fallback = await connect(refusing + listening)
        #expect(throws: Never.self) { try fallback.get() }
        let none = await connect(refusing)
        #expect(throws: PoolError.self) { try none.get() }
        if case let .failure(error) = none {
            #expect(error.errorClass == PoolError.Class.connect && error.description.contains("refused"), "\(error)")
        }
        await core.direct!.shutdown()
        try await group.shutdownGracefully()
        try await server.shutdown()
    }
}
#endif
