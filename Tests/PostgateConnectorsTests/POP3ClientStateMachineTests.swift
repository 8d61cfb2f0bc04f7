import Foundation
import NIOCore
import Testing
@testable import PostgateConnectors

/// The client's command sequence and outcomes, without any I/O.
@Suite struct POP3ClientStateMachineTests {
    typealias Machine = POP3ClientStateMachine

    private static let capa = POP3ResponseEvent.lines("", ["CAPA", "TOP", "UIDL", "USER", "SASL PLAIN XOAUTH2 OAUTHBEARER", "PIPELINING"])
    private static let capaWithSTLS = POP3ResponseEvent.lines("", ["CAPA", "UIDL", "USER", "STLS", "SASL PLAIN"])

    private func send(_ line: String, _ kind: POP3ResponseKind = .singleLine, secret: Bool = false) -> Machine.Action {
        .send(POP3Command(line, response: kind, secret: secret))
    }

    private func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    /// Connected over implicit TLS with `capabilities`.
    private func connected(_ capabilities: POP3ResponseEvent = capa) -> Machine {
        var m = Machine(tlsMode: .implicit)
        #expect(m.receive(.tlsEstablished) == [])
        #expect(m.receive(.status(.ok("ready <1896.697170952@dbc.mtview.ca.us>"))) == [send("CAPA", .multiLine)])
        #expect(m.receive(capabilities) == [.succeed(.connected)])
        return m
    }

    private func authenticated() -> Machine {
        var m = connected()
        _ = m.authenticate(.password(user: "alice", password: "pw"))
        #expect(m.receive(.status(.ok("logged in"))) == [.succeed(.authenticated)])
        return m
    }

    // MARK: Connecting

    @Test func implicitTLSGreetingThenCAPA() {
        let m = connected()
        #expect(m.tlsActive)
        #expect(m.stage == .authorization)
        #expect(m.capabilities?["SASL"] == ["PLAIN", "XOAUTH2", "OAUTHBEARER"])
    }

    @Test func implicitTLSWithoutHandshakeIsRefused() {
        var m = Machine(tlsMode: .implicit)
        #expect(m.receive(.status(.ok("ready"))) == [.fail(.tlsFailed("the greeting came without TLS")), .close])
    }

    @Test func errGreetingEndsTheSession() {
        var m = Machine(tlsMode: .none)
        #expect(m.receive(.status(.err("busy"))) == [.fail(.connectionClosed("the server refused the session: -ERR busy")), .close])
        #expect(m.stage == .closed)
    }

    @Test func stlsThenCAPAAgainAfterTheHandshake() {
        var m = Machine(tlsMode: .startTLS)
        #expect(m.receive(.status(.ok("ready"))) == [send("CAPA", .multiLine)])
        #expect(m.receive(Self.capaWithSTLS) == [send("STLS", .startTLS)])
        #expect(m.receive(.status(.ok("Begin TLS negotiation now."))) == [.startTLS])
        #expect(m.stage == .tlsHandshake)
        #expect(m.capabilities == nil, "what the server said before TLS is not kept")
        #expect(m.receive(.tlsEstablished) == [send("CAPA", .multiLine)])
        #expect(m.receive(.lines("", ["UIDL", "SASL PLAIN"])) == [.succeed(.connected)])
        #expect(m.tlsActive)
        #expect(m.capabilities?["STLS"] == nil)
    }

    @Test func stlsRefusedFailsTheConnection() {
        var m = Machine(tlsMode: .startTLS)
        _ = m.receive(.status(.ok("ready")))
        _ = m.receive(Self.capaWithSTLS)
        #expect(m.receive(.status(.err("TLS not available"))) == [.fail(.tlsFailed("the server refused STLS: TLS not available")), .close])
    }

    @Test func stlsNotOfferedFailsTheConnection() {
        var m = Machine(tlsMode: .startTLS)
        _ = m.receive(.status(.ok("ready")))
        #expect(m.receive(Self.capa) == [.fail(.tlsFailed("the server does not offer STLS")), .close])
    }

    @Test func serverWithoutCAPAIsAskedForSTLSAnyway() {
        var m = Machine(tlsMode: .startTLS)
        _ = m.receive(.status(.ok("ready")))
        #expect(m.receive(.status(.err("unknown command"))) == [send("STLS", .startTLS)])
    }

    @Test func handshakeFailureEndsTheSession() {
        var m = Machine(tlsMode: .startTLS)
        _ = m.receive(.status(.ok("ready")))
        _ = m.receive(Self.capaWithSTLS)
        _ = m.receive(.status(.ok("")))
        #expect(m.connectionClosed(.tlsUntrusted("unknown CA")) == [.fail(.tlsUntrusted("unknown CA"))])
        #expect(m.stage == .closed)
    }

    // MARK: Authentication

    @Test func plaintextAuthenticationIsRefusedWithoutTLS() {
        var m = Machine(tlsMode: .none)
        _ = m.receive(.status(.ok("ready")))
        _ = m.receive(Self.capa)
        #expect(m.authenticate(.password(user: "alice", password: "pw")) == [.fail(.plaintextAuthenticationRefused)])
        #expect(m.authenticate(.xoauth2(user: "alice", token: "t")) == [.fail(.plaintextAuthenticationRefused)])
        #expect(m.stage == .authorization, "nothing was sent; the caller may still QUIT")
    }

    @Test func plaintextAuthenticationWhenExplicitlyAllowed() {
        var m = Machine(tlsMode: .none, allowPlaintextAuthentication: true)
        _ = m.receive(.status(.ok("ready")))
        _ = m.receive(.lines("", ["USER", "UIDL"]))
        #expect(m.authenticate(.password(user: "alice", password: "pw")) == [send("USER alice")])
    }

    @Test func saslPlainWhenOffered() {
        var m = connected()
        #expect(m.authenticate(.password(user: "alice", password: "pw")) == [send("AUTH PLAIN " + base64("\0alice\0pw"), secret: true)])
        #expect(m.receive(.status(.ok("Logged in."))) == [.succeed(.authenticated)])
        #expect(m.stage == .transaction)
    }

    @Test func userPassWithoutSASL() {
        var m = connected(.lines("", ["USER", "UIDL"]))
        #expect(m.authenticate(.password(user: "alice", password: "pw")) == [send("USER alice")])
        #expect(m.receive(.status(.ok(""))) == [send("PASS pw", secret: true)])
        #expect(m.receive(.status(.ok("maildrop locked"))) == [.succeed(.authenticated)])
    }

    @Test func wrongPasswordGivesTheServersText() {
        var m = connected(.lines("", ["USER"]))
        _ = m.authenticate(.password(user: "alice", password: "bad"))
        _ = m.receive(.status(.ok("")))
        #expect(m.receive(.status(.err("[AUTH] Authentication failed."))) == [.fail(.authenticationFailed("[AUTH] Authentication failed."))])
        #expect(m.stage == .authorization)
        #expect(m.command(.quit) == [send("QUIT")])
    }

    @Test func xoauth2SendsTheTokenAndAnswersAnErrorChallengeEmpty() {
        var m = connected()
        let response = base64("user=alice@example.com\u{1}auth=Bearer ya29.tok\u{1}\u{1}")
        #expect(m.authenticate(.xoauth2(user: "alice@example.com", token: "ya29.tok")) == [send("AUTH XOAUTH2 " + response, secret: true)])
        #expect(m.receive(.status(.continuation(base64("{\"status\":\"401\"}")))) == [send("")])
        #expect(m.receive(.status(.err("[AUTH] Invalid credentials"))) == [.fail(.authenticationFailed("[AUTH] Invalid credentials ({\"status\":\"401\"})"))])
    }

    @Test func oauthBearerFollowsRFC7628() {
        var m = connected()
        let response = base64("n,a=a=3Db=2Cc@example.com,\u{1}auth=Bearer tok\u{1}\u{1}")
        #expect(m.authenticate(.oauthBearer(user: "a=b,c@example.com", token: "tok")) == [send("AUTH OAUTHBEARER " + response, secret: true)])
        #expect(m.receive(.status(.continuation("eyJ9"))) == [send("AQ==")])
        #expect(m.receive(.status(.err("denied"))) == [.fail(.authenticationFailed("denied ({\"})"))])
    }

    @Test func longTokenWaitsForTheEmptyChallenge() {
        var m = connected()
        let token = String(repeating: "t", count: 400)
        #expect(m.authenticate(.xoauth2(user: "alice", token: token)) == [send("AUTH XOAUTH2")])
        let response = base64("user=alice\u{1}auth=Bearer \(token)\u{1}\u{1}")
        #expect(m.receive(.status(.continuation(""))) == [send(response, secret: true)])
        #expect(m.receive(.status(.ok(""))) == [.succeed(.authenticated)])
    }

    @Test func commandsBeforeAuthenticationAreRefused() {
        var m = connected()
        #expect(m.command(.uidl) == [.fail(.protocolError("cannot send uidl while not authenticated"))])
    }

    // MARK: Transaction

    @Test func statUIDLAndList() {
        var m = authenticated()
        #expect(m.command(.stat) == [send("STAT")])
        #expect(m.receive(.status(.ok("2 320"))) == [.succeed(.stat(count: 2, size: 320))])
        #expect(m.command(.uidl) == [send("UIDL", .multiLine)])
        #expect(m.receive(.lines("", ["1 whqtswO00WBw418f9t5JxYwZ", "2 QhdPYR:00WBw1Ph7x7"])) == [.succeed(.uidl([
            POP3UniqueID(number: 1, uid: "whqtswO00WBw418f9t5JxYwZ"), POP3UniqueID(number: 2, uid: "QhdPYR:00WBw1Ph7x7"),
        ]))])
        #expect(m.command(.list) == [send("LIST", .multiLine)])
        #expect(m.receive(.lines("2 messages", ["1 120", "2 200"])) == [.succeed(.list([POP3ListEntry(number: 1, size: 120), POP3ListEntry(number: 2, size: 200)]))])
    }

    @Test func malformedUIDLIsAProtocolError() {
        var m = authenticated()
        _ = m.command(.uidl)
        #expect(m.receive(.lines("", ["1 has space inside"])) == [.fail(.protocolError("malformed UIDL response")), .close])
        var long = authenticated()
        _ = long.command(.uidl)
        #expect(long.receive(.lines("", ["1 " + String(repeating: "u", count: 71)])).first == .fail(.protocolError("malformed UIDL response")))
    }

    @Test func retrieveDeliversChunksThenSucceeds() {
        var m = authenticated()
        #expect(m.command(.retrieve(1)) == [send("RETR 1", .message)])
        #expect(m.receive(.messageStart("120 octets")) == [])
        let chunk = ByteBuffer(string: "Subject: x\r\n\r\nbody\r\n")
        #expect(m.receive(.messageChunk(chunk)) == [.deliver(chunk)])
        #expect(m.receive(.messageEnd) == [.succeed(.done)])
        #expect(m.stage == .transaction)
    }

    @Test func errToACommandKeepsTheSession() {
        var m = authenticated()
        _ = m.command(.retrieve(9))
        #expect(m.receive(.status(.err("There's no message 9."))) == [.fail(.commandFailed("There's no message 9."))])
        #expect(m.stage == .transaction)
        _ = m.command(.delete(9))
        #expect(m.receive(.status(.err("no such message"))) == [.fail(.commandFailed("no such message"))])
        #expect(m.command(.noop) == [send("NOOP")])
        #expect(m.receive(.status(.ok(""))) == [.succeed(.done)])
    }

    @Test func deleteResetAndQuit() {
        var m = authenticated()
        #expect(m.command(.delete(1)) == [send("DELE 1")])
        #expect(m.receive(.status(.ok("Marked to be deleted."))) == [.succeed(.done)])
        #expect(m.command(.reset) == [send("RSET")])
        #expect(m.receive(.status(.ok(""))) == [.succeed(.done)])
        #expect(m.command(.quit) == [send("QUIT")])
        #expect(m.receive(.status(.ok("Logging out."))) == [.succeed(.done), .close])
        #expect(m.stage == .closed)
        #expect(m.command(.noop) == [.fail(.protocolError("cannot send noop while closed"))])
    }

    @Test func errToQuitMeansDeletionsFailed() {
        var m = authenticated()
        _ = m.command(.quit)
        #expect(m.receive(.status(.err("some deleted messages not removed"))) == [.fail(.commandFailed("some deleted messages not removed")), .close])
    }

    @Test func unexpectedResponsesAreProtocolErrors() {
        var m = authenticated()
        _ = m.command(.stat)
        #expect(m.receive(.status(.ok("many"))) == [.fail(.protocolError("malformed STAT response: +OK many")), .close])
        var other = authenticated()
        _ = other.command(.delete(1))
        #expect(other.receive(.lines("", [])).first == .fail(.protocolError("unexpected response +OK  with 0 lines to delete(1)")))
        var idle = authenticated()
        #expect(idle.receive(.status(.ok(""))) == [.fail(.protocolError("unexpected response +OK while no command was running")), .close])
    }

    @Test func connectionLossFailsTheRunningCommand() {
        var m = authenticated()
        _ = m.command(.retrieve(1))
        _ = m.receive(.messageStart(""))
        #expect(m.connectionClosed(.timeout("no response")) == [.fail(.timeout("no response"))])
        #expect(m.connectionClosed(.connectionClosed("eof")) == [])
    }

    @Test func closeAfterQuitIsSuccess() {
        var m = authenticated()
        _ = m.command(.quit)
        #expect(m.connectionClosed(.connectionClosed("eof")) == [.succeed(.done)])
    }
}
