import Foundation
import NIOCore
import Testing
@testable import PostgateConnectors

/// The POP3 client against a real Dovecot pop3d on loopback: STLS and implicit TLS, login,
/// UIDL, byte-exact RETR of a message of several megabytes, DELE + QUIT, and the errors.
@Suite(.enabled(if: DovecotServer.isPOP3Installed, "Dovecot's pop3d is not installed (apt-get install dovecot-pop3d)"))
struct POP3DovecotTests {
    /// Three messages: two small ones with dot-stuffed lines, one of about 6 MB.
    static let messages: [DovecotServer.Message] = {
        let small1 = "From: Customer <customer@example.com>\r\nTo: support@acme.test\r\nSubject: first\r\n\r\n.leading dot\r\n.\r\n..two dots\r\nend\r\n"
        let small2 = "From: Other <other@example.com>\r\nSubject: second\r\n\r\nHello\r\n"
        var big = "From: Big <big@example.com>\r\nSubject: large attachment\r\nContent-Type: text/plain\r\n\r\n"
        big.reserveCapacity(6_200_000)
        for line in 0..<80_000 {
            if line % 997 == 0 { big += ".\r\n" }
            big += (line % 101 == 0 ? "." : "") + "line \(line) " + String(repeating: "abcdefghij", count: 7) + "\r\n"
        }
        return [
            DovecotServer.Message(name: "1700000001.M1P1.pop3test:2,", content: Array(small1.utf8)),
            DovecotServer.Message(name: "1700000002.M2P1.pop3test:2,", content: Array(small2.utf8)),
            DovecotServer.Message(name: "1700000003.M3P1.pop3test:2,S", content: Array(big.utf8)),
        ]
    }()

    private func client(_ server: DovecotServer, tls: POP3TLSMode, trusted: Bool = true, allowPlaintext: Bool = false) -> POP3Client {
        POP3Client(configuration: POP3Configuration(
            host: "127.0.0.1", port: tls == .implicit ? server.pop3sPort : server.pop3Port, tls: tls,
            caCertificateFile: trusted ? server.certificate : nil, allowPlaintextAuthentication: allowPlaintext,
            connectTimeout: 30, responseTimeout: 60
        ))
    }

    private let credentials = POP3Credentials.password(user: DovecotServer.user, password: DovecotServer.password)

    @Test func stlsLoginAndByteExactRetrieve() async throws {
        let server = try DovecotServer(messages: Self.messages)
        defer { server.stop() }
        try await client(server, tls: .startTLS).connect { session in
            #expect(session.isTLSActive)
            #expect(session.capabilities?["STLS"] == nil, "CAPA asked again after TLS")
            #expect(session.capabilities?["UIDL"] != nil)
            try await session.authenticate(credentials)
            let stat = try await session.stat()
            #expect(stat.count == 3)
            let ids = try await session.uidl()
            #expect(ids.map(\.number) == [1, 2, 3])
            #expect(Set(ids.map(\.uid)).count == 3)
            let sizes = try await session.list()
            var found: Set<String> = []
            for id in ids {
                var bytes: [UInt8] = []
                var largestChunk = 0
                try await session.retrieve(id.number) { chunk in
                    largestChunk = max(largestChunk, chunk.readableBytes)
                    bytes += chunk.readableBytesView
                }
                let match = Self.messages.first { $0.content == bytes }
                #expect(match != nil, "message \(id.number) (\(bytes.count) octets) is byte for byte one of the Maildir files")
                if let match { found.insert(match.name) }
                #expect(largestChunk <= 64 << 10, "the message arrives in bounded chunks")
                #expect(sizes.first { $0.number == id.number }?.size == bytes.count)
            }
            #expect(found.count == 3)
            try await session.quit()
        }
    }

    @Test func implicitTLSAndUIDLStableAcrossSessions() async throws {
        let server = try DovecotServer(messages: Self.messages)
        defer { server.stop() }
        let first = try await client(server, tls: .implicit).connect { session in
            #expect(session.isTLSActive)
            try await session.authenticate(credentials)
            let ids = try await session.uidl()
            try await session.quit()
            return ids
        }
        let second = try await client(server, tls: .implicit).connect { session in
            try await session.authenticate(credentials)
            return try await session.uidl()
        }
        let overSTLS = try await client(server, tls: .startTLS).connect { session in
            try await session.authenticate(credentials)
            return try await session.uidl()
        }
        #expect(first.count == 3)
        #expect(first == second)
        #expect(first == overSTLS)
    }

    @Test func deleteTakesEffectOnlyWithQuit() async throws {
        let server = try DovecotServer(messages: Self.messages)
        defer { server.stop() }
        let before = try await client(server, tls: .implicit).connect { session in
            try await session.authenticate(credentials)
            return try await session.uidl()
        }
        let victim = try #require(before.first)
        // Deleted, but the session ends without QUIT: nothing is removed (RFC 1939 section 6).
        try await client(server, tls: .implicit).connect { session in
            try await session.authenticate(credentials)
            try await session.delete(victim.number)
        }
        #expect(try server.messageFiles().count == 3)
        try await client(server, tls: .implicit).connect { session in
            try await session.authenticate(credentials)
            try await session.delete(victim.number)
            let again = await #expect(throws: POP3Error.self) { try await session.delete(victim.number) }
            if case .commandFailed = again {} else { Issue.record("deleting twice: \(String(describing: again))") }
            try await session.quit()
        }
        #expect(try server.messageFiles().count == 2)
        let after = try await client(server, tls: .implicit).connect { session in
            try await session.authenticate(credentials)
            return try await session.uidl()
        }
        #expect(Set(after.map(\.uid)) == Set(before.dropFirst().map(\.uid)))
    }

    @Test func missingMessageIsACommandErrorAndTheSessionGoesOn() async throws {
        let server = try DovecotServer(messages: Self.messages)
        defer { server.stop() }
        try await client(server, tls: .implicit).connect { session in
            try await session.authenticate(credentials)
            let error = await #expect(throws: POP3Error.self) { try await session.retrieve(9) { _ in } }
            if case .commandFailed = error {} else { Issue.record("RETR 9: \(String(describing: error))") }
            #expect(try await session.uidl().count == 3)
            try await session.noop()
            try await session.quit()
        }
    }

    @Test func wrongPasswordIsAnAuthenticationError() async throws {
        let server = try DovecotServer(messages: Self.messages)
        defer { server.stop() }
        try await client(server, tls: .startTLS).connect { session in
            let error = await #expect(throws: POP3Error.self) {
                try await session.authenticate(.password(user: DovecotServer.user, password: "wrong"))
            }
            guard case .authenticationFailed(let text) = error else {
                Issue.record("wrong password: \(String(describing: error))")
                return
            }
            #expect(text.contains("Authentication failed"), "the server's text: \(text)")
            try await session.quit()
        }
    }

    @Test(arguments: [POP3TLSMode.implicit, .startTLS])
    func untrustedCertificateWithoutTheCAFile(tls: POP3TLSMode) async throws {
        let server = try DovecotServer(messages: Self.messages)
        defer { server.stop() }
        let error = await #expect(throws: POP3Error.self) {
            try await client(server, tls: tls, trusted: false).connect { _ in }
        }
        guard case .tlsUntrusted = error else {
            Issue.record("without the CA file: \(String(describing: error))")
            return
        }
        try await client(server, tls: tls, trusted: true).connect { session in
            try await session.authenticate(credentials)
            try await session.quit()
        }
    }

    @Test func plaintextAuthenticationOnlyWhenAllowed() async throws {
        let server = try DovecotServer(messages: Self.messages)
        defer { server.stop() }
        try await client(server, tls: .none).connect { session in
            #expect(!session.isTLSActive)
            let error = await #expect(throws: POP3Error.self) { try await session.authenticate(credentials) }
            #expect(error == .plaintextAuthenticationRefused)
            try await session.quit()
        }
        #expect(!server.log.contains("user=<\(DovecotServer.user)>"), "the credentials never reached the server")
        try await client(server, tls: .none, allowPlaintext: true).connect { session in
            try await session.authenticate(credentials)
            #expect(try await session.stat().count == 3)
            try await session.quit()
        }
    }

    @Test func connectionRefused() async throws {
        let port = try DovecotServer.freePort()
        let client = POP3Client(configuration: POP3Configuration(host: "127.0.0.1", port: port, tls: .implicit))
        let error = await #expect(throws: POP3Error.self) { try await client.connect { _ in } }
        #expect(error == .connectionRefused("127.0.0.1:\(port)"))
    }

    @Test func silentServerTimesOut() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let client = POP3Client(configuration: POP3Configuration(host: "127.0.0.1", port: listener.port, tls: .none, responseTimeout: 0.5))
        let error = await #expect(throws: POP3Error.self) { try await client.connect { _ in } }
        guard case .timeout = error else {
            Issue.record("silent server: \(String(describing: error))")
            return
        }
    }
}
