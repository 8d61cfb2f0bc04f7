import Foundation
import PostgateOAuth
import PostgateStore

/// The client side of one SMTP transaction (RFC 5321 section 3.3 and 4.1, STARTTLS RFC
/// 3207, AUTH RFC 4954 with PLAIN, LOGIN, OAUTHBEARER RFC 7628 and XOAUTH2, SIZE RFC 1870, 8BITMIME RFC 6152, SMTPUTF8 RFC 6531) as a value
/// type: it is fed the server's replies and the events of the connection, and answers with
/// what the channel handler must do. It does no I/O, so every path is testable directly.
///
/// Commands are sent one at a time, except that when the server advertises PIPELINING
/// (RFC 2920) MAIL, every RCPT and DATA go out as one group (the handler writes them at
/// once) and their replies are matched in order. The outcome per recipient is known
/// once the server answers the final dot (or refuses earlier); `.finish` carries it, and the
/// handler records it before the polite `QUIT`.
///
/// The set-up steps (connect, EHLO, STARTTLS, AUTH) are recorded in `steps` with their
/// replies. A probe (`init(probing:heloName:)`) stops after them: it authenticates and
/// says `QUIT` without a transaction, to test a submission server without sending.
public struct SMTPClientStateMachine: Sendable {
    public enum Action: Sendable, Equatable {
        /// Send this command line (CRLF is added by the handler).
        case send(String)
        /// Start the TLS handshake, then call `tlsEstablished()` or `tlsFailed(_:)`.
        case startTLS
        /// Stream the message (dot-stuffed, with the final dot), then wait for the reply.
        case sendMessage
        /// The outcome of every recipient, in the order of the request.
        case finish([OutboundRecipientOutcome])
        /// Close the connection.
        case close
    }

    /// What the client is waiting for; the handler picks the timeout from it.
    public enum Stage: Sendable, Equatable {
        case greeting, ehlo, helo, startTLS, tlsHandshake, auth, mail, recipient, dataInitiation, dataTermination, quit, done
    }

    private enum AuthStep: Equatable {
        case plain, loginUser, loginPassword
        /// AUTH with a bearer token sent; `responded` once the initial response went out.
        case bearer(OAuthSASLMechanism, responded: Bool)
        /// The server reported an error in a challenge and the client answered (RFC 7628
        /// section 3.2.3); its final refusal follows.
        case bearerFailing(OAuthSASLErrorChallenge?)
    }

    public let request: SMTPDeliveryRequest
    public let endpoint: SMTPEndpoint
    public let heloName: String
    public private(set) var stage = Stage.greeting
    public private(set) var tlsActive = false
    /// The EHLO keywords (upper case) with their parameters.
    public private(set) var extensions: [String: String] = [:]
    private var startTLSRefused = false
    private var authStep = AuthStep.plain
    /// The base64 initial response that waits for the server's empty challenge.
    private var pendingAuthResponse = ""
    private var recipientIndex = 0
    private var accepted: [Int] = []
    private var outcomes: [OutboundRecipientOutcome?]
    private var finished = false
    /// The commands of a pipelined MAIL/RCPT/DATA group whose replies are still due, in order.
    private var pipelined: [PipelinedCommand] = []
    /// The refusal of a pipelined MAIL: every recipient of the group fails with it.
    private var refusedMail: SMTPClientReply?

    private enum PipelinedCommand: Equatable { case mail, recipient, data }
    /// Stop after authentication (or after the greeting exchange without credentials).
    public let isProbe: Bool
    /// The set-up steps so far, each with the reply or the reason it failed.
    public private(set) var steps: [SMTPProbeStep] = []
    /// The 220 answer to STARTTLS, reported once the handshake is done.
    private var startTLSReply: SMTPClientReply?

    public init(request: SMTPDeliveryRequest, endpoint: SMTPEndpoint, heloName: String) {
        self.request = request
        self.endpoint = endpoint
        self.heloName = heloName
        self.outcomes = Array(repeating: nil, count: request.recipients.count)
        // Implicit TLS: the handshake came before the greeting.
        self.tlsActive = endpoint.implicitTLS
        self.isProbe = false
    }

    /// A session that connects, says EHLO, starts TLS as `endpoint` asks, authenticates with
    /// its credentials and quits; `.finish` carries no outcome, `steps` the report.
    public init(probing endpoint: SMTPEndpoint, heloName: String) {
        self.request = SMTPDeliveryRequest(sender: "", recipients: [], path: "", size: 0)
        self.endpoint = endpoint
        self.heloName = heloName
        self.outcomes = []
        self.tlsActive = endpoint.implicitTLS
        self.isProbe = true
    }

    /// True once `.finish` was returned.
    public var isFinished: Bool { finished }

    // MARK: Events

    /// A complete reply from the server.
    public mutating func receive(_ reply: SMTPClientReply) -> [Action] {
        if !pipelined.isEmpty { return pipelinedReplied(reply) }
        switch stage {
        case .greeting:
            guard reply.isPositive else { return failAll(reply, thenQuit: true) }
            record(true, "\(endpoint), TLS \(tlsActive ? "active" : "not yet active"), \(Self.firstLine(reply))")
            return hello()
        case .ehlo: return ehloReplied(reply)
        case .helo:
            guard reply.isPositive else { return failAll(reply, thenQuit: true) }
            record(true, "HELO: \(Self.firstLine(reply))")
            return afterHello()
        case .startTLS: return startTLSReplied(reply)
        case .auth: return authReplied(reply)
        case .mail: return reply.isPositive ? nextRecipient() : failAll(reply, thenQuit: true)
        case .recipient: return recipientReplied(reply)
        case .dataInitiation:
            guard reply.code == 354 else { return failAccepted(reply) }
            stage = .dataTermination
            return [.sendMessage]
        case .dataTermination: return messageReplied(reply)
        case .quit, .done: stage = .done; return [.close]
        case .tlsHandshake: return failAll(temporary: "the server sent a reply during the TLS handshake")
        }
    }

    /// The TLS handshake finished: the session starts over with EHLO (RFC 3207 section 4.2).
    public mutating func tlsEstablished() -> [Action] {
        // Implicit TLS (RFC 8314 section 3.3): the handshake came first; the greeting, still
        // due, starts the session.
        guard stage == .tlsHandshake else {
            tlsActive = true
            return []
        }
        record(true, "\(startTLSReply.map(Self.firstLine) ?? "220"), TLS established")
        tlsActive = true
        extensions = [:]
        return hello()
    }

    public mutating func tlsFailed(_ reason: String) -> [Action] {
        failAll(temporary: "TLS handshake with \(endpoint) failed: \(reason)")
    }

    /// The connection closed or failed; every recipient without an outcome is deferred.
    public mutating func connectionClosed(_ reason: String) -> [Action] {
        guard !finished else { stage = .done; return [] }
        return failAll(temporary: "connection to \(endpoint) lost \(waitingFor): \(reason)")
    }

    /// A local problem (the message file cannot be read): every undecided recipient is deferred.
    public mutating func localFailure(_ reason: String) -> [Action] {
        guard !finished else { stage = .done; return [.close] }
        return failAll(temporary: reason)
    }

    /// No reply came in time (RFC 5321 section 4.5.3.2).
    public mutating func timedOut() -> [Action] {
        guard !finished else { stage = .done; return [.close] }
        return failAll(temporary: "timeout \(waitingFor) from \(endpoint)")
    }

    private var waitingFor: String {
        switch stage {
        case .greeting: "waiting for the greeting"
        case .dataTermination: "waiting for the reply to the message data"
        case .tlsHandshake: "during the TLS handshake"
        default: "waiting for a reply"
        }
    }

    // MARK: Session set-up

    private mutating func hello() -> [Action] {
        stage = .ehlo
        return [.send("EHLO \(heloName)")]
    }

    private mutating func ehloReplied(_ reply: SMTPClientReply) -> [Action] {
        guard reply.isPositive else {
            // RFC 5321 section 3.2: a server that does not know EHLO gets HELO.
            guard reply.isPermanent, !tlsActive else { return failAll(reply, thenQuit: true) }
            stage = .helo
            return [.send("HELO \(heloName)")]
        }
        extensions = Self.parseExtensions(reply.lines.dropFirst())
        let offered = ["STARTTLS", "AUTH"].compactMap { keyword in extensions[keyword].map { $0.isEmpty ? keyword : "\(keyword) \($0)" } }
        record(true, Self.firstLine(reply) + (offered.isEmpty ? "" : "; offers " + offered.joined(separator: ", ")))
        return afterHello()
    }

    static func parseExtensions(_ lines: ArraySlice<String>) -> [String: String] {
        var result: [String: String] = [:]
        for line in lines {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard let keyword = parts.first else { continue }
            result[keyword.uppercased()] = parts.count > 1 ? String(parts[1]) : ""
        }
        return result
    }

    private mutating func afterHello() -> [Action] {
        if !tlsActive && endpoint.tls != .none && !startTLSRefused {
            stage = .startTLS
            if extensions["STARTTLS"] != nil {
                return [.send("STARTTLS")]
            }
            if endpoint.tls == .required {
                return failAll(temporary: "\(endpoint) does not offer STARTTLS, which the TLS policy requires", thenQuit: true)
            }
        }
        if let credentials = endpoint.credentials { return authenticate(credentials) }
        return isProbe ? finish(thenQuit: true) : mail()
    }

    private mutating func startTLSReplied(_ reply: SMTPClientReply) -> [Action] {
        guard reply.code == 220 else {
            if endpoint.tls == .required { return failAll(reply, thenQuit: true, alwaysTemporary: true) }
            record(false, "\(reply); continuing without TLS")
            startTLSRefused = true
            return afterHello()
        }
        startTLSReply = reply
        stage = .tlsHandshake
        return [.startTLS]
    }

    private mutating func authenticate(_ credentials: SMTPCredentials) -> [Action] {
        stage = .auth
        guard tlsActive else {
            return failAll(temporary: "credentials are configured for \(endpoint) but TLS is not active; refusing to send them in clear text", thenQuit: true)
        }
        let mechanisms = Set((extensions["AUTH"] ?? "").uppercased().split(separator: " ").map(String.init))
        switch credentials.secret {
        case .password(let password):
            if mechanisms.contains("PLAIN") {
                authStep = .plain
                return [.send("AUTH PLAIN " + Self.base64("\0\(credentials.user)\0\(password)"))]
            }
            if mechanisms.contains("LOGIN") {
                authStep = .loginUser
                return [.send("AUTH LOGIN")]
            }
            return failAll(temporary: "\(endpoint) offers neither AUTH PLAIN nor AUTH LOGIN", thenQuit: true)
        case .bearerToken(let token):
            guard let mechanism = OAuthSASLMechanism.preferred(among: mechanisms) else {
                return failAll(temporary: "\(endpoint) offers neither AUTH OAUTHBEARER nor AUTH XOAUTH2, which an OAuth 2.0 token needs", thenQuit: true)
            }
            let response = mechanism.initialResponse(user: credentials.user, token: token, host: endpoint.host, port: endpoint.port)
            let line = "AUTH \(mechanism.name) \(response)"
            // RFC 4954 section 4: an initial response that would take the command line past
            // 512 octets (RFC 5321 section 4.5.3.1.4) is sent after the server's empty 334.
            if line.utf8.count + 2 <= 512 {
                authStep = .bearer(mechanism, responded: true)
                return [.send(line)]
            }
            authStep = .bearer(mechanism, responded: false)
            pendingAuthResponse = response
            return [.send("AUTH \(mechanism.name)")]
        }
    }

    private mutating func authReplied(_ reply: SMTPClientReply) -> [Action] {
        guard let credentials = endpoint.credentials else { return failAll(reply, thenQuit: true) }
        if reply.code == 235 {
            record(true, "\(reply) as \(credentials.user)")
            return isProbe ? finish(thenQuit: true) : mail()
        }
        switch (authStep, credentials.secret, reply.code) {
        case (.loginUser, _, 334):
            authStep = .loginPassword
            return [.send(Self.base64(credentials.user))]
        case (.loginPassword, .password(let password), 334):
            authStep = .plain
            return [.send(Self.base64(password))]
        case (.bearer(let mechanism, responded: false), _, 334):
            authStep = .bearer(mechanism, responded: true)
            defer { pendingAuthResponse = "" }
            return [.send(pendingAuthResponse)]
        case (.bearer(let mechanism, responded: true), _, 334):
            // RFC 7628 section 3.2.2: a challenge after the whole response carries the
            // server's error; section 3.2.3: the client answers it and the server then fails
            // the exchange (535, RFC 4954 section 6).
            authStep = .bearerFailing(OAuthSASLErrorChallenge(base64: reply.lines.joined()))
            return [.send(mechanism.errorChallengeAnswer)]
        case (.bearerFailing(let error?), _, _):
            // A refused login is a configuration problem (or a token to refresh): retry later.
            return failAll(temporary: "\(reply) (\(error))", thenQuit: true)
        default:
            // A refused login is a configuration problem the administrator can fix: retry later.
            return failAll(reply, thenQuit: true, alwaysTemporary: true)
        }
    }

    static func base64(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
    }

    // MARK: The transaction

    private mutating func mail() -> [Action] {
        if request.smtpUTF8 && extensions["SMTPUTF8"] == nil {
            return failAll(permanent: "\(endpoint) does not support SMTPUTF8, which the addresses need (RFC 6531 section 3.4)", thenQuit: true)
        }
        var command = "MAIL FROM:<\(request.sender)>"
        if let limit = extensions["SIZE"] {
            if let max = Int(limit), max > 0, request.size > max {
                return failAll(permanent: "the message (\(request.size) bytes) is larger than \(endpoint) accepts (\(max) bytes, RFC 1870)", thenQuit: true)
            }
            command += " SIZE=\(request.size)"
        }
        if request.eightBit && extensions["8BITMIME"] != nil { command += " BODY=8BITMIME" }
        if request.smtpUTF8 { command += " SMTPUTF8" }
        stage = .mail
        guard extensions["PIPELINING"] != nil else { return [.send(command)] }
        pipelined = [.mail] + request.recipients.map { _ in .recipient } + [.data]
        return [.send(command)] + request.recipients.map { .send("RCPT TO:<\($0)>") } + [.send("DATA")]
    }

    /// The next reply of a pipelined group (RFC 2920 section 3.1: replies come in the order
    /// of the commands; a refused MAIL or no accepted recipient still has its RCPT and DATA
    /// replies read, so the session stays in step).
    private mutating func pipelinedReplied(_ reply: SMTPClientReply) -> [Action] {
        switch pipelined.removeFirst() {
        case .mail:
            if !reply.isPositive { refusedMail = reply }
            stage = .recipient
            return []
        case .recipient:
            if let refusal = refusedMail ?? (reply.isPositive ? nil : reply) {
                outcomes[recipientIndex] = Self.failure(refusal)
            } else {
                accepted.append(recipientIndex)
            }
            recipientIndex += 1
            if pipelined == [.data] { stage = .dataInitiation }
            return []
        case .data:
            guard reply.code == 354 else { return failAccepted(reply) }
            stage = .dataTermination
            // A 354 although no recipient was accepted is answered with an empty message.
            return accepted.isEmpty ? [.send(".")] : [.sendMessage]
        }
    }

    private mutating func nextRecipient() -> [Action] {
        guard recipientIndex < request.recipients.count else {
            guard !accepted.isEmpty else { return finish(thenQuit: true) }
            stage = .dataInitiation
            return [.send("DATA")]
        }
        stage = .recipient
        return [.send("RCPT TO:<\(request.recipients[recipientIndex])>")]
    }

    private mutating func recipientReplied(_ reply: SMTPClientReply) -> [Action] {
        if reply.isPositive {
            accepted.append(recipientIndex)
        } else {
            outcomes[recipientIndex] = Self.failure(reply)
        }
        recipientIndex += 1
        return nextRecipient()
    }

    private mutating func messageReplied(_ reply: SMTPClientReply) -> [Action] {
        guard reply.isPositive else { return failAccepted(reply) }
        for index in accepted { outcomes[index] = .delivered(reply: reply.description) }
        return finish(thenQuit: true)
    }

    // MARK: Outcomes

    static func failure(_ reply: SMTPClientReply, alwaysTemporary: Bool = false) -> OutboundRecipientOutcome {
        reply.isPermanent && !alwaysTemporary ? .permanent(reason: reply.description) : .temporary(reason: reply.description)
    }

    private mutating func failAccepted(_ reply: SMTPClientReply) -> [Action] {
        for index in accepted { outcomes[index] = Self.failure(reply) }
        return finish(thenQuit: true)
    }

    private mutating func failAll(_ reply: SMTPClientReply, thenQuit: Bool, alwaysTemporary: Bool = false) -> [Action] {
        fillUndecided(Self.failure(reply, alwaysTemporary: alwaysTemporary))
        return finish(thenQuit: thenQuit)
    }

    private mutating func failAll(temporary reason: String, thenQuit: Bool = false) -> [Action] {
        fillUndecided(.temporary(reason: reason))
        return finish(thenQuit: thenQuit)
    }

    private mutating func failAll(permanent reason: String, thenQuit: Bool) -> [Action] {
        fillUndecided(.permanent(reason: reason))
        return finish(thenQuit: thenQuit)
    }

    private mutating func fillUndecided(_ outcome: OutboundRecipientOutcome) {
        if !finished {
            switch outcome {
            case .temporary(let reason), .permanent(let reason): record(false, reason)
            case .delivered: break
            }
        }
        for index in outcomes.indices where outcomes[index] == nil { outcomes[index] = outcome }
    }

    // MARK: Steps

    /// The step the current stage belongs to; nil once the transaction started.
    private var stepName: String? {
        switch stage {
        case .greeting: "connect"
        case .ehlo, .helo: "ehlo"
        case .startTLS, .tlsHandshake: "starttls"
        case .auth: "authenticate"
        default: nil
        }
    }

    private mutating func record(_ ok: Bool, _ detail: String) {
        guard let name = stepName else { return }
        steps.append(SMTPProbeStep(name: name, ok: ok, detail: detail))
    }

    /// The first line of a reply with its code: the EHLO greeting without its keyword list.
    static func firstLine(_ reply: SMTPClientReply) -> String {
        "\(reply.code) \(reply.lines.first ?? "")"
    }

    private mutating func finish(thenQuit: Bool) -> [Action] {
        let result = outcomes.map { $0 ?? .temporary(reason: "not tried") }
        guard !finished else { stage = .done; return [.close] }
        finished = true
        guard thenQuit else {
            stage = .done
            return [.finish(result), .close]
        }
        stage = .quit
        return [.finish(result), .send("QUIT")]
    }
}
