import Foundation
import NIOCore
import Testing
@testable import PostgateConnectors

/// APPEND (RFC 9051 section 6.3.12) against a real Dovecot imapd: into the folder LIST marks
/// `\Sent` (RFC 6154) with `\Seen`, byte for byte, with a non-synchronizing literal (LITERAL+,
/// RFC 7888) and with a synchronizing one when the server does not announce it; a missing
/// folder fails the command only.
@Suite(.enabled(if: DovecotServer.isIMAPInstalled, "Dovecot's imapd is not installed (apt-get install dovecot-imapd)"), .timeLimit(.minutes(3)))
struct IMAPAppendDovecotTests {
    static let reply = Array("From: Acme Support <support@acme.test>\r\nTo: jane@example.test\r\nSubject: Re: order\r\nMessage-ID: <r1@acme.test>\r\n\r\n.leading dot\r\nA1 OK {5}\r\nIt ships today.\r\n".utf8)

    private func client(_ server: DovecotServer) -> IMAPClient {
        IMAPClient(configuration: IMAPConfiguration(
            host: "127.0.0.1", port: server.imapsPort, tls: .implicit, caCertificateFile: server.certificate,
            connectTimeout: 30, responseTimeout: 60))
    }

    private let credentials = IMAPCredentials.password(user: DovecotServer.user, password: DovecotServer.password)

    /// Appends the reply to the `\Sent` folder and checks the file Dovecot made for it.
    private func appendToSent(_ server: DovecotServer, expectLiteralPlus: Bool) async throws {
        try await client(server).connect { session in
            try await session.authenticate(credentials)
            #expect(session.capabilities.contains("LITERAL+") == expectLiteralPlus)
            let sent = try await session.list().first { $0.attributes.contains("\\Sent") }
            #expect(sent?.name == "Sent")
            let (uidValidity, uid) = try await session.append(mailbox: sent?.name ?? "Sent", flags: ["\\Seen"], message: Self.reply)
            #expect(uidValidity != nil && uid != nil, "APPENDUID (RFC 4315)")
            let status = try await session.examine("Sent")
            #expect(status.exists == 1)
            #expect(try await session.messageInfo(.uids([uid ?? 1])).first?.flags.contains("\\Seen") == true)
            try await session.logout()
        }
        let files = try server.messageFiles(in: "Sent")
        #expect(files.count == 1)
        #expect(files.first?.hasSuffix(",S") == true)
        let stored = try files.first.map { try Data(contentsOf: URL(fileURLWithPath: server.folderPath("Sent") + "/cur/" + $0)) }
        // Dovecot's Maildir keeps lines with LF alone; the octets are otherwise those sent.
        #expect(stored.map(Array.init) == Self.reply.filter { $0 != 0x0D })
    }

    @Test func appendsWithSeenToTheSentFolderWithLiteralPlus() async throws {
        let server = try DovecotServer(folders: ["Sent"], messages: [])
        defer { server.stop() }
        try await appendToSent(server, expectLiteralPlus: true)
    }

    @Test func appendsWithASynchronizingLiteralWithoutLiteralPlus() async throws {
        let server = try DovecotServer(folders: ["Sent"], messages: [],
                                       imapCapability: "IMAP4rev1 SASL-IR ID ENABLE IDLE UIDPLUS LIST-EXTENDED SPECIAL-USE")
        defer { server.stop() }
        try await appendToSent(server, expectLiteralPlus: false)
    }

    @Test func aMissingFolderFailsTheAppendOnly() async throws {
        let server = try DovecotServer(folders: ["Sent"], messages: [])
        defer { server.stop() }
        try await client(server).connect { session in
            try await session.authenticate(credentials)
            do {
                try await session.append(mailbox: "Nowhere", message: Self.reply)
                Issue.record("APPEND to a missing folder succeeded")
            } catch let error as IMAPClientError {
                guard case .commandFailed(let command, let response) = error else {
                    Issue.record("unexpected error \(error)")
                    return
                }
                #expect(command == "APPEND")
                #expect(response.contains("TRYCREATE"))
            }
            try await session.noop()
            try await session.logout()
        }
        #expect(try server.messageFiles(in: "Sent").isEmpty)
    }
}
