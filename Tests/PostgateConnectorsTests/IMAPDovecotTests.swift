import Foundation
import NIOCore
import Testing
@testable import PostgateConnectors

/// The IMAP client against a real Dovecot imapd on loopback: STARTTLS and implicit TLS, LOGIN
/// and PLAIN, LIST with special uses, SELECT, UID SEARCH and FETCH, a multi-megabyte message
/// streamed byte for byte, STORE, MOVE, IDLE woken by a delivery, and the errors.
@Suite(.enabled(if: DovecotServer.isIMAPInstalled, "Dovecot's imapd is not installed (apt-get install dovecot-imapd)"), .timeLimit(.minutes(3)))
struct IMAPDovecotTests {
    static let old = Date(timeIntervalSince1970: 1_577_880_000)  // 2020-01-01 12:00 UTC
    static let recent = Date(timeIntervalSince1970: 1_700_000_000)  // 2023-11-14 22:13 UTC

    static let small1 = Array("From: Customer <customer@example.com>\r\nTo: support@acme.test\r\nSubject: first\r\n\r\n.leading dot\r\n{5}\r\n)\r\n".utf8)
    static let small2 = Array("From: Other <other@example.com>\r\nSubject: second\r\n\r\nHello\r\n".utf8)
    /// About 6 MB, lines that look like IMAP (literals, tags) included.
    static let big: [UInt8] = {
        var text = "From: Big <big@example.com>\r\nSubject: large attachment\r\nContent-Type: text/plain\r\n\r\n"
        text.reserveCapacity(6_200_000)
        for line in 0..<80_000 {
            if line % 997 == 0 { text += "A1 OK {12}\r\n* 3 EXISTS\r\n" }
            text += "line \(line) " + String(repeating: "abcdefghij", count: 7) + "\r\n"
        }
        return Array(text.utf8)
    }()

    /// INBOX: three messages (UIDs 1 to 3 by file name order), the third seen; Archive: one;
    /// empty Trash, Junk, Sent, "Ärger" and "My Folder".
    static let messages: [DovecotServer.Message] = [
        DovecotServer.Message(name: "1577880000.M1P1.imaptest:2,", content: small1, received: old),
        DovecotServer.Message(name: "1700000000.M2P1.imaptest:2,", content: small2, received: recent),
        DovecotServer.Message(name: "1700000001.M3P1.imaptest:2,S", content: big, received: recent),
        DovecotServer.Message(folder: "Archive", name: "1600000000.M4P1.imaptest:2,S", content: small2, received: old),
    ]
    static let folders = ["Archive", "Trash", "Junk", "Sent", "&AMQ-rger", "My Folder"]

    private func server() throws -> DovecotServer {
        try DovecotServer(folders: Self.folders, messages: Self.messages)
    }

    private func client(_ server: DovecotServer, tls: IMAPTLSMode = .implicit, trusted: Bool = true, allowPlaintext: Bool = false) -> IMAPClient {
        IMAPClient(configuration: IMAPConfiguration(
            host: "127.0.0.1", port: tls == .implicit ? server.imapsPort : server.imapPort, tls: tls,
            caCertificateFile: trusted ? server.certificate : nil, allowPlaintextAuthentication: allowPlaintext,
            connectTimeout: 30, responseTimeout: 60
        ))
    }

    private let credentials = IMAPCredentials.password(user: DovecotServer.user, password: DovecotServer.password)

    /// The UIDs in INBOX, by the order of the files (Dovecot numbers new files so).
    private func inboxUIDs(_ session: IMAPSession) async throws -> [UInt32] {
        _ = try await session.select("INBOX")
        return try await session.uidSearch([.all])
    }

    // MARK: Connecting and authenticating

    @Test func startTLSThenPLAINAndCapabilitiesAfterLogin() async throws {
        let server = try server()
        defer { server.stop() }
        try await client(server, tls: .startTLS).connect { session in
            #expect(session.isTLSActive)
            #expect(!session.capabilities.contains("STARTTLS"), "capabilities asked again after TLS")
            #expect(session.capabilities.contains("AUTH=PLAIN"))
            try await session.authenticate(credentials)
            for name in ["IDLE", "MOVE", "UIDPLUS", "SPECIAL-USE"] {
                #expect(session.capabilities.contains(name), "\(name) after login")
            }
            try await session.logout()
        }
    }

    @Test func implicitTLSWithLOGIN() async throws {
        let server = try server()
        defer { server.stop() }
        try await client(server, tls: .implicit).connect { session in
            #expect(session.isTLSActive)
            try await session.authenticate(.login(user: DovecotServer.user, password: DovecotServer.password))
            #expect(try await inboxUIDs(session).count == 3)
            try await session.logout()
        }
        #expect(server.log.contains("imap-login: Info: Login: user=<\(DovecotServer.user)>"), "the server logged the login")
    }

    @Test(arguments: [IMAPTLSMode.implicit, .startTLS])
    func wrongPasswordThenTheRightOne(tls: IMAPTLSMode) async throws {
        let server = try server()
        defer { server.stop() }
        try await client(server, tls: tls).connect { session in
            for wrong in [IMAPCredentials.password(user: DovecotServer.user, password: "wrong"), .login(user: DovecotServer.user, password: "wrong \"x\"")] {
                let error = await #expect(throws: IMAPClientError.self) { try await session.authenticate(wrong) }
                guard case .authenticationFailed(let text) = error else {
                    Issue.record("wrong password: \(String(describing: error))")
                    continue
                }
                #expect(text.hasPrefix("[AUTHENTICATIONFAILED]"), "the server's code and text: \(text)")
                #expect(error?.description.hasPrefix("authentication failed: [AUTHENTICATIONFAILED]") == true)
            }
            try await session.authenticate(credentials)
            try await session.noop()
            try await session.logout()
        }
    }

    @Test(arguments: [IMAPTLSMode.implicit, .startTLS])
    func untrustedCertificateWithoutTheCAFile(tls: IMAPTLSMode) async throws {
        let server = try server()
        defer { server.stop() }
        let error = await #expect(throws: IMAPClientError.self) {
            try await client(server, tls: tls, trusted: false).connect { _ in }
        }
        guard case .tlsUntrusted = error else {
            Issue.record("without the CA file: \(String(describing: error))")
            return
        }
        #expect(error?.description.hasPrefix("TLS certificate not trusted") == true)
    }

    @Test func plaintextAuthenticationOnlyWhenAllowed() async throws {
        let server = try server()
        defer { server.stop() }
        try await client(server, tls: .none).connect { session in
            #expect(!session.isTLSActive)
            let error = await #expect(throws: IMAPClientError.self) { try await session.authenticate(credentials) }
            #expect(error == .plaintextAuthenticationRefused)
            try await session.logout()
        }
        #expect(!server.log.contains("user=<\(DovecotServer.user)>"), "the credentials never reached the server")
        try await client(server, tls: .none, allowPlaintext: true).connect { session in
            try await session.authenticate(credentials)
            #expect(try await inboxUIDs(session).count == 3)
            try await session.logout()
        }
    }

    @Test func connectionRefused() async throws {
        let port = try DovecotServer.freePort()
        let client = IMAPClient(configuration: IMAPConfiguration(host: "127.0.0.1", port: port, tls: .implicit))
        let error = await #expect(throws: IMAPClientError.self) { try await client.connect { _ in } }
        #expect(error == .connectionRefused("127.0.0.1:\(port)"))
        #expect(error?.description == "connection refused by 127.0.0.1:\(port)")
    }

    @Test func silentServerTimesOut() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let client = IMAPClient(configuration: IMAPConfiguration(host: "127.0.0.1", port: listener.port, tls: .none, responseTimeout: 0.5))
        let error = await #expect(throws: IMAPClientError.self) { try await client.connect { _ in } }
        guard case .timeout = error else {
            Issue.record("silent server: \(String(describing: error))")
            return
        }
        #expect(error?.description.hasPrefix("timed out waiting 0.5 seconds") == true)
    }

    // MARK: Mailboxes

    @Test func listShowsFoldersWithSpecialUse() async throws {
        let server = try server()
        defer { server.stop() }
        try await client(server).connect { session in
            try await session.authenticate(credentials)
            let mailboxes = try await session.list()
            let byName = Dictionary(uniqueKeysWithValues: mailboxes.map { ($0.name, $0) })
            #expect(Set(byName.keys) == ["INBOX", "Archive", "Trash", "Junk", "Sent", "&AMQ-rger", "My Folder"])
            #expect(byName["Trash"]?.specialUse == .trash)
            #expect(byName["Junk"]?.specialUse == .junk)
            #expect(byName["Sent"]?.specialUse == .sent)
            #expect(byName["Archive"]?.specialUse == .archive)
            #expect(byName["INBOX"]?.specialUse == nil)
            #expect(byName["&AMQ-rger"]?.displayName == "Ärger")
            #expect(mailboxes.allSatisfy { $0.delimiter == "." && $0.isSelectable })
            // A name with a space goes back quoted.
            let status = try await session.select("My Folder")
            #expect(status.exists == 0)
            try await session.logout()
        }
    }

    @Test func selectAndExamineReportTheMailbox() async throws {
        let server = try server()
        defer { server.stop() }
        try await client(server).connect { session in
            try await session.authenticate(credentials)
            let inbox = try await session.select("INBOX")
            #expect(inbox.exists == 3)
            #expect(inbox.uidValidity > 0)
            #expect(inbox.uidNext == 4)
            #expect(inbox.highestModSeq != nil, "CONDSTORE: SELECT reports HIGHESTMODSEQ")
            #expect(!inbox.readOnly)
            #expect(inbox.flags.contains("\\Seen"))
            let archive = try await session.examine("Archive")
            #expect(archive.exists == 1)
            #expect(archive.readOnly)
            #expect(session.selectedMailbox == archive)
            let error = await #expect(throws: IMAPClientError.self) { try await session.select("Nope") }
            guard case .commandFailed(let command, let response) = error else {
                Issue.record("\(String(describing: error))")
                return
            }
            #expect(command == "SELECT")
            #expect(response.hasPrefix("NO ") && response.contains("Nope"), "the server's answer: \(response)")
            #expect(session.selectedMailbox == nil)
            // The same UIDVALIDITY in a new session: the UIDs stay valid.
            try await session.logout()
            let again = try await client(server).connect { session in
                try await session.authenticate(credentials)
                return try await session.examine("INBOX")
            }
            #expect(again.uidValidity == inbox.uidValidity)
        }
    }

    // MARK: Messages

    @Test func uidSearchAndFetchListing() async throws {
        let server = try server()
        defer { server.stop() }
        try await client(server).connect { session in
            try await session.authenticate(credentials)
            #expect(try await inboxUIDs(session) == [1, 2, 3])
            #expect(try await session.uidSearch([.uid(.from(2))]) == [2, 3])
            #expect(try await session.uidSearch([.uid(.from(10))]) == [], "UID 10:* matches UID 3 on the server; the client leaves it out")
            #expect(try await session.uidSearch([.since(Date(timeIntervalSince1970: 1_600_000_000))]) == [2, 3])
            #expect(try await session.uidSearch([.before(Date(timeIntervalSince1970: 1_600_000_000))]) == [1])
            #expect(try await session.uidSearch([.unseen]) == [1, 2])
            let listing = try await session.messageInfo(.from(1))
            #expect(listing.map(\.uid) == [1, 2, 3])
            #expect(listing.map(\.size) == [Self.small1.count, Self.small2.count, Self.big.count])
            #expect(listing.map { $0.flags.contains("\\Seen") } == [false, false, true])
            #expect(listing.map(\.internalDate) == [Self.old, Self.recent, Self.recent])
            #expect(try await session.messageInfo(.from(10)) == [])
            #expect(try await session.messageInfo(.uids([3, 1])).map(\.uid) == [1, 3])
            try await session.logout()
        }
    }

    @Test func multiMegabyteMessageStreamsByteExact() async throws {
        let server = try server()
        defer { server.stop() }
        try await client(server).connect { session in
            try await session.authenticate(credentials)
            _ = try await session.select("INBOX")
            for (uid, expected) in [(UInt32(3), Self.big), (1, Self.small1), (2, Self.small2)] {
                var bytes: [UInt8] = []
                var largestChunk = 0
                var chunks = 0
                let outcome = try await session.fetchMessage(uid: uid) { chunk in
                    largestChunk = max(largestChunk, chunk.readableBytes)
                    chunks += 1
                    bytes += chunk.readableBytesView
                }
                #expect(outcome == .fetched(size: expected.count))
                #expect(bytes == expected, "UID \(uid): \(bytes.count) octets, byte for byte the file")
                #expect(largestChunk <= 64 << 10, "the message arrives in bounded chunks")
                if uid == 3 { #expect(chunks > 50) }
            }
            // BODY.PEEK[]: fetching did not mark the messages seen.
            #expect(try await session.uidSearch([.unseen]) == [1, 2])
            var called = false
            let tooLarge = try await session.fetchMessage(uid: 3, maxSize: 1_000_000) { _ in called = true }
            #expect(tooLarge == .tooLarge(size: Self.big.count))
            #expect(!called, "a message over the limit is not fetched")
            var small: [UInt8] = []
            let withinLimit = try await session.fetchMessage(uid: 2, maxSize: 1_000_000) { small += $0.readableBytesView }
            #expect(withinLimit == .fetched(size: Self.small2.count))
            #expect(small == Self.small2)
            let missing = try await session.fetchMessage(uid: 99) { _ in called = true }
            #expect(missing == .notFound)
            #expect(!called)
            try await session.logout()
        }
    }

    @Test func storeSeenIsVisibleAfterwards() async throws {
        let server = try server()
        defer { server.stop() }
        try await client(server).connect { session in
            try await session.authenticate(credentials)
            _ = try await session.select("INBOX")
            try await session.addFlags(uids: [1])
            try await session.logout()
        }
        let flags = try await client(server).connect { session in
            try await session.authenticate(credentials)
            _ = try await session.examine("INBOX")
            return try await session.messageInfo(.uids([1, 2])).map(\.flags)
        }
        #expect(flags.map { $0.contains("\\Seen") } == [true, false])
        let file = try #require(try server.messageFiles().first { $0.hasPrefix("1577880000.M1P1") })
        #expect(file.hasSuffix(":2,S"), "the Maildir file carries the flag: \(file)")
    }

    @Test func moveToAFolder() async throws {
        let server = try server()
        defer { server.stop() }
        try await client(server).connect { session in
            try await session.authenticate(credentials)
            _ = try await session.select("INBOX")
            try await session.move(uids: [2], to: "Archive")
            #expect(session.selectedMailbox?.exists == 2, "the EXPUNGE was seen")
            #expect(try await session.uidSearch([.all]) == [1, 3])
            let archive = try await session.select("Archive")
            #expect(archive.exists == 2)
            let moved = try await session.messageInfo(.from(1)).map(\.size)
            #expect(moved.sorted() == [Self.small2.count, Self.small2.count])
            try await session.logout()
        }
        #expect(try server.messageFiles().count == 2)
        #expect(try server.messageFiles(in: "Archive").count == 2)
    }

    @Test func moveWithoutMOVEExpungesOnlyTheMovedMessages() async throws {
        // A server without MOVE (RFC 6851) but with UIDPLUS; UID 1 is already \Deleted (T in
        // its Maildir name) and must survive: only the moved message is expunged.
        let server = try DovecotServer(folders: ["Archive"], messages: [
            DovecotServer.Message(name: "1700000001.M1P1.imaptest:2,T", content: Self.small1),
            DovecotServer.Message(name: "1700000002.M2P1.imaptest:2,", content: Self.small2),
            DovecotServer.Message(name: "1700000003.M3P1.imaptest:2,", content: Self.small1),
        ], imapCapability: "IMAP4rev1 SASL-IR ID ENABLE IDLE UIDPLUS LIST-EXTENDED CONDSTORE LITERAL+ SPECIAL-USE")
        defer { server.stop() }
        try await client(server).connect { session in
            try await session.authenticate(credentials)
            #expect(!session.capabilities.contains("MOVE"))
            #expect(session.capabilities.contains("UIDPLUS"))
            #expect(try await inboxUIDs(session) == [1, 2, 3])
            try await session.move(uids: [2], to: "Archive")
            #expect(try await session.uidSearch([.all]) == [1, 3])
            #expect(try await session.uidSearch([.deleted]) == [1])
            let archive = try await session.examine("Archive")
            #expect(archive.exists == 1)
            var moved: [UInt8] = []
            let outcome = try await session.fetchMessage(uid: try #require(try await session.uidSearch([.all]).first)) { moved += $0.readableBytesView }
            #expect(outcome == .fetched(size: Self.small2.count))
            #expect(moved == Self.small2)
            try await session.logout()
        }
    }

    @Test func idleWakesWhenAMessageIsDelivered() async throws {
        let server = try server()
        defer { server.stop() }
        try await client(server).connect { session in
            try await session.authenticate(credentials)
            _ = try await session.select("INBOX")
            // The caller's time is long enough for a server that polls, short enough that a
            // client missing the change fails the test (as `.timedOut`) instead of hanging.
            let outcome = try await session.idle(timeout: 60) {
                try server.deliver(Self.small2, name: "1700000009.M9P1.imaptest")
            }
            #expect(outcome == .mailboxChanged(exists: 4))
            #expect(try await session.uidSearch([.all]) == [1, 2, 3, 4])
            // Nothing changes: the caller's time ends it, and the session goes on.
            #expect(try await session.idle(timeout: 0.2) == .timedOut)
            try await session.noop()
            try await session.logout()
        }
    }

    @Test func serverClosingMidFetchIsAnError() async throws {
        // Larger than the socket buffers of both sides together, so the kill lands mid-literal.
        var huge = Array("Subject: huge\r\n\r\n".utf8)
        huge.reserveCapacity(40 << 20)
        let line = Array((String(repeating: "0123456789", count: 10) + "\r\n").utf8)
        while huge.count < 40 << 20 { huge += line }
        let server = try DovecotServer(messages: [DovecotServer.Message(name: "1700000000.M1P1.imaptest:2,", content: huge)])
        defer { server.stop() }
        try await client(server).connect { session in
            try await session.authenticate(credentials)
            _ = try await session.select("INBOX")
            var received = 0
            var killed = false
            let error = await #expect(throws: IMAPClientError.self) {
                _ = try await session.fetchMessage(uid: 1) { chunk in
                    received += chunk.readableBytes
                    if !killed {
                        killed = true
                        try server.killMailProcesses(named: "imap")
                    }
                }
            }
            guard case .connectionClosed = error else {
                Issue.record("mid-fetch close: \(String(describing: error))")
                return
            }
            #expect(killed)
            #expect(received < huge.count)
        }
    }
}
