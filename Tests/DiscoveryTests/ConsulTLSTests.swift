import Foundation
import MindAlphaDiscovery
import MindAlphaPool
import NIOSSL
import TestSupport
import Testing

/// Consul over https: a self-signed certificate made with openssl (installed by scripts/bootstrap.sh --tests).
@Suite struct ConsulTLSTests {
    static func certificate() async throws -> (dir: URL, cert: String, key: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("consul-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
        let made = try await Tool.exec("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                                                  "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
        try #require(made.status == 0, "openssl could not make a certificate (run scripts/bootstrap.sh --tests)")
        return (dir, cert, key)
    }

    func withTLSServer(_ body: (Int, String) async throws -> Void) async throws {
        let (dir, cert, key) = try await Self.certificate()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tls = try NIOSSLContext(configuration: .makeServerConfiguration(
            certificateChain: NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))))
        let server = try await CannedHTTPServer.start(.init(status: .ok, headers: ConsulClientTests.consulHeaders, body: "[]"), tls: tls)
        defer { Task { await server.shutdown() } }
        try await body(server.port, cert)
    }

    @Test func caFileIsTrusted() async throws {
        try await withTLSServer { port, cert in
            let settings = try ConsulSettings.resolve(address: "https://127.0.0.1:\(port)", token: nil, tokenFile: nil, caFile: cert, datacenter: nil, environment: [:])
            let client = try ConsulClient(settings: settings)
            defer { Task { try? await client.shutdown() } }
            #expect(try await client.health(HealthQuery(service: "x")).index == 245)
        }
    }

    @Test func sslVerifyFalseSkipsVerification() async throws {
        try await withTLSServer { port, _ in
            let settings = try ConsulSettings.resolve(address: nil, token: nil, tokenFile: nil, caFile: nil, datacenter: nil,
                                                      environment: ["CONSUL_HTTP_ADDR": "127.0.0.1:\(port)", "CONSUL_HTTP_SSL": "true", "CONSUL_HTTP_SSL_VERIFY": "false"])
            #expect(settings.scheme == "https")
            let client = try ConsulClient(settings: settings)
            defer { Task { try? await client.shutdown() } }
            #expect(try await client.health(HealthQuery(service: "x")).instances.isEmpty)
        }
    }

    @Test func untrustedCertificateSaysWhatToDo() async throws {
        try await withTLSServer { port, _ in
            let client = try ConsulClient(settings: ConsulSettings(scheme: "https", hostPort: "127.0.0.1:\(port)"))
            defer { Task { try? await client.shutdown() } }
            await #expect {
                _ = try await client.health(HealthQuery(service: "x"))
            } throws: { error in
                "\(error)".contains("TLS failed") && "\(error)".contains("--ca-file")
            }
        }
    }
}
