import NIOCore
import Testing
@testable import PostgateConnectors

/// APPEND (RFC 9051 section 6.3.12) in the IMAP client state machine: the literal forms of
/// RFC 7888, APPENDUID (RFC 4315 section 3) and refusals, without any I/O.
@Suite struct IMAPAppendStateMachineTests {
    typealias Machine = IMAPClientStateMachine

    private let message = Array("From: <a@acme.test>\r\nSubject: hi\r\n\r\nbody\r\n".utf8)

    private func sent(_ actions: [Machine.Action]) -> [String] {
        actions.compactMap { if case .send(let command) = $0 { command.text } else { nil } }
    }

    private func line(_ text: String) -> IMAPClientEvent {
        var buffer = ByteBuffer(string: text + "\r\n")
        var framer = IMAPResponseFramer()
        do {
            guard let event = try framer.next(&buffer) else {
                Issue.record("not one response: \(text)")
                return .tlsEstablished
            }
            return event
        } catch {
            Issue.record("\(text): \(error)")
            return .tlsEstablished
        }
    }

    /// Authenticated over implicit TLS with `capabilities`.
    private func authenticated(_ capabilities: String) -> Machine {
        var m = Machine(tlsMode: .implicit)
        _ = m.receive(.tlsEstablished)
        #expect(m.receive(line("* OK [CAPABILITY \(capabilities) AUTH=PLAIN SASL-IR] ready")) == [.succeed(.connected)])
        #expect(sent(m.authenticate(.password(user: "alice", password: "pw"))).count == 1)
        #expect(m.receive(line("A1 OK [CAPABILITY \(capabilities)] Logged in")) == [.succeed(.authenticated)])
        return m
    }

    @Test func synchronizingLiteralWaitsForTheContinuation() {
        var m = authenticated("IMAP4rev1")
        let first = m.command(.append(mailbox: "Sent", flags: ["\\Seen"], message: message))
        #expect(sent(first) == ["A2 APPEND \"Sent\" (\\Seen) {\(message.count)}\r\n"])
        #expect(m.stage == .command)
        let rest = m.receive(line("+ Ready for literal data"))
        #expect(sent(rest) == [String(decoding: message, as: UTF8.self) + "\r\n"])
        guard case .send(let literal) = rest.first else { return }
        #expect(literal.logText == "<\(message.count) octets>")
        #expect(literal.tag == nil)
        #expect(m.receive(line("A2 OK [APPENDUID 38505 3955] Append completed.")) == [.succeed(.appended(uidValidity: 38505, uid: 3955))])
        #expect(m.stage == .authenticated)
    }

    @Test func literalPlusSendsEverythingAtOnce() {
        var m = authenticated("IMAP4rev1 LITERAL+")
        #expect(sent(m.command(.append(mailbox: "Sent Items", flags: ["\\Seen"], message: message))) == [
            "A2 APPEND \"Sent Items\" (\\Seen) {\(message.count)+}\r\n" + String(decoding: message, as: UTF8.self) + "\r\n",
        ])
        #expect(m.receive(line("A2 OK Append completed.")) == [.succeed(.appended(uidValidity: nil, uid: nil))])
    }

    @Test func literalMinusOnlyUpTo4096Octets() {
        var small = authenticated("IMAP4rev1 LITERAL-")
        #expect(sent(small.command(.append(mailbox: "Sent", flags: [], message: message))).first?.hasPrefix("A2 APPEND \"Sent\" {\(message.count)+}\r\n") == true)

        var large = authenticated("IMAP4rev1 LITERAL-")
        let big = [UInt8](repeating: UInt8(ascii: "a"), count: 5000)
        #expect(sent(large.command(.append(mailbox: "Sent", flags: [], message: big))) == ["A2 APPEND \"Sent\" {5000}\r\n"])
    }

    @Test func aRefusalInsteadOfTheContinuationFailsTheCommandOnly() {
        var m = authenticated("IMAP4rev1")
        _ = m.command(.append(mailbox: "Nowhere", flags: ["\\Seen"], message: message))
        #expect(m.receive(line("A2 NO [TRYCREATE] Mailbox doesn't exist: Nowhere")) == [
            .fail(.commandFailed(command: "APPEND", response: "NO [TRYCREATE] Mailbox doesn't exist: Nowhere")),
        ])
        #expect(m.stage == .authenticated)
        // The session goes on.
        #expect(sent(m.command(.noop)) == ["A3 NOOP\r\n"])
    }

    @Test func appendNeedsAuthentication() {
        var m = Machine(tlsMode: .implicit)
        _ = m.receive(.tlsEstablished)
        _ = m.receive(line("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready"))
        guard case .fail = m.command(.append(mailbox: "Sent", flags: [], message: message)).first else {
            Issue.record("APPEND before authentication was sent")
            return
        }
    }
}
