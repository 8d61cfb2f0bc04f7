import Foundation
import NIOCore
import PostgateOAuth

/// The client side of a POP3 session (RFC 1939; CAPA RFC 2449; STLS RFC 2595; AUTH RFC 5034
/// with PLAIN RFC 4616, XOAUTH2 and OAUTHBEARER RFC 7628) as a value type: it is fed the
/// framed responses and answers with what the session must do. It does no I/O.
///
/// One operation runs at a time: connecting (greeting, CAPA, STLS, CAPA again),
/// authenticating, or one command. Each ends with exactly one `.succeed` or `.fail`;
/// `.close` follows when the session cannot go on.
public struct POP3ClientStateMachine: Sendable {
    public enum Command: Sendable, Equatable {
        case stat, uidl, list, noop, reset, quit
        case retrieve(Int)
        case delete(Int)
    }

    public enum Outcome: Sendable, Equatable {
        /// Greeting, capabilities and TLS done: ready to authenticate.
        case connected
        case authenticated
        case stat(count: Int, size: Int)
        case uidl([POP3UniqueID])
        case list([POP3ListEntry])
        /// RETR (after its chunks), DELE, NOOP, RSET, QUIT.
        case done
    }

    /// What the session must do: send, start TLS, deliver a chunk, succeed, fail, close.
    public typealias Action = ConnectorAction<POP3Command, Outcome, POP3Error>

    public enum Stage: Sendable, Equatable {
        case greeting, capabilities, startTLS, tlsHandshake
        /// Connected, not yet authenticated (RFC 1939 section 4, AUTHORIZATION state).
        case authorization
        case authenticating
        /// Authenticated, no command running (RFC 1939 section 5, TRANSACTION state).
        case transaction
        case command
        case closed
    }

    private enum AuthStep: Equatable {
        case user, pass
        /// AUTH sent; `responded` once the initial response went out (with AUTH or after `+ `).
        case sasl(responded: Bool)
        /// The server refused with a `+ ` challenge carrying its error (`saslError`); the
        /// client answered and waits for the final `-ERR` (RFC 7628 section 3.2.3).
        case saslFailing
    }

    public let tlsMode: POP3TLSMode
    public let allowPlaintextAuthentication: Bool
    /// The server's name and port, given to OAUTHBEARER (RFC 7628 section 3.1) when known.
    public let serverHost: String?
    public let serverPort: Int?
    public private(set) var stage = Stage.greeting
    /// True once a TLS handshake completed on this connection.
    public private(set) var tlsActive = false
    /// The CAPA response (upper-cased tag → arguments); nil when the server has no CAPA.
    public private(set) var capabilities: [String: [String]]?
    private var credentials: POP3Credentials?
    private var authStep = AuthStep.user
    private var saslResponse = ""
    private var saslMechanism: OAuthSASLMechanism?
    /// The error the server reported in a challenge (RFC 7628 section 3.2.2).
    private var saslError: OAuthSASLErrorChallenge?
    private var running: Command?
    private var retrieving = false

    public init(tlsMode: POP3TLSMode, allowPlaintextAuthentication: Bool = false, serverHost: String? = nil, serverPort: Int? = nil) {
        self.tlsMode = tlsMode
        self.allowPlaintextAuthentication = allowPlaintextAuthentication
        self.serverHost = serverHost
        self.serverPort = serverPort
    }

    // MARK: Events

    public mutating func receive(_ event: POP3ResponseEvent) -> [Action] {
        switch (stage, event) {
        case (.greeting, .tlsEstablished):
            // Implicit TLS: the handshake comes before the greeting.
            tlsActive = true
            return []
        case (.tlsHandshake, .tlsEstablished):
            tlsActive = true
            return askCapabilities()
        case (.greeting, .status(let status)):
            return greeted(status)
        case (.capabilities, .lines(_, let lines)):
            capabilities = Self.parseCapabilities(lines)
            return afterCapabilities()
        case (.capabilities, .status(.err)):
            // RFC 2449 section 5: a server without CAPA answers -ERR.
            capabilities = nil
            return afterCapabilities()
        case (.startTLS, .status(.ok)):
            // RFC 2595 section 4: what was learned before TLS is forgotten and asked again.
            capabilities = nil
            stage = .tlsHandshake
            return [.startTLS]
        case (.startTLS, .status(.err(let text))):
            return fatal(.tlsFailed("the server refused STLS: \(text)"))
        case (.authenticating, .status(let status)):
            return authResponse(status)
        case (.command, _):
            return commandResponse(event)
        default:
            return fatal(.protocolError("unexpected response \(Self.describe(event)) while \(waitingFor)"))
        }
    }

    /// The TLS handshake failed (the session maps the handshake error).
    public mutating func tlsFailed(_ error: POP3Error) -> [Action] {
        fatal(error)
    }

    /// The connection closed or failed.
    public mutating func connectionClosed(_ error: POP3Error) -> [Action] {
        if stage == .closed { return [] }
        if running == .quit && stage == .command {
            // The server may close right after its +OK was read or without sending it.
            stage = .closed
            return [.succeed(.done)]
        }
        stage = .closed
        return [.fail(error)]
    }

    private var waitingFor: String {
        switch stage {
        case .greeting: "waiting for the greeting"
        case .capabilities: "waiting for CAPA"
        case .startTLS: "waiting for the STLS response"
        case .tlsHandshake: "in the TLS handshake"
        case .authenticating: "authenticating"
        case .command: "waiting for the response to \(running.map { "\($0)" } ?? "a command")"
        case .authorization: "not authenticated"
        case .transaction: "no command was running"
        case .closed: "closed"
        }
    }

    // MARK: Connecting

    private mutating func greeted(_ status: POP3Status) -> [Action] {
        // RFC 1939 section 4: the greeting is +OK; an APOP timestamp in it is ignored (no APOP).
        guard case .ok = status else { return fatal(.connectionClosed("the server refused the session: \(status)")) }
        if tlsMode == .implicit && !tlsActive { return fatal(.tlsFailed("the greeting came without TLS")) }
        return askCapabilities()
    }

    private mutating func askCapabilities() -> [Action] {
        stage = .capabilities
        return [.send(POP3Command("CAPA", response: .multiLine))]
    }

    static func parseCapabilities(_ lines: [String]) -> [String: [String]] {
        var result: [String: [String]] = [:]
        for line in lines {
            let words = line.split(separator: " ").map(String.init)
            guard let tag = words.first else { continue }
            result[tag.uppercased()] = Array(words.dropFirst())
        }
        return result
    }

    private mutating func afterCapabilities() -> [Action] {
        if tlsMode == .startTLS && !tlsActive {
            // RFC 2595 section 4: STLS is advertised in CAPA; a server without CAPA is asked anyway.
            if let capabilities, capabilities["STLS"] == nil {
                return fatal(.tlsFailed("the server does not offer STLS"))
            }
            stage = .startTLS
            return [.send(POP3Command("STLS", response: .startTLS))]
        }
        stage = .authorization
        return [.succeed(.connected)]
    }

    // MARK: Authenticating

    public mutating func authenticate(_ credentials: POP3Credentials) -> [Action] {
        guard stage == .authorization else { return [.fail(.protocolError("cannot authenticate while \(waitingFor)"))] }
        guard tlsActive || allowPlaintextAuthentication else { return [.fail(.plaintextAuthenticationRefused)] }
        self.credentials = credentials
        stage = .authenticating
        let mechanisms = Set((capabilities?["SASL"] ?? []).map { $0.uppercased() })
        switch credentials {
        case .password(let user, let password):
            if mechanisms.contains("PLAIN") {
                return startSASL("PLAIN", response: ConnectorSASL.base64(ConnectorSASL.plain(user: user, password: password)))
            }
            authStep = .user
            return [.send(POP3Command("USER \(user)"))]
        case .xoauth2(let user, let token):
            return startSASL(.xoauth2, user: user, token: token)
        case .oauthBearer(let user, let token):
            return startSASL(.oauthBearer, user: user, token: token)
        }
    }

    private mutating func startSASL(_ mechanism: OAuthSASLMechanism, user: String, token: String) -> [Action] {
        let actions = startSASL(mechanism.name, response: mechanism.initialResponse(user: user, token: token, host: serverHost, port: serverPort))
        saslMechanism = mechanism
        return actions
    }

    /// Sends AUTH with `response` (base64) as the initial response, or waits for the
    /// server's empty challenge when the line would be too long.
    private mutating func startSASL(_ mechanism: String, response: String) -> [Action] {
        saslMechanism = nil
        saslError = nil
        saslResponse = response
        let withResponse = "AUTH \(mechanism) \(saslResponse)"
        // RFC 5034 section 4: the initial response goes with AUTH only if the line stays
        // within 255 octets; otherwise it follows the server's empty challenge.
        if withResponse.utf8.count <= 255 {
            authStep = .sasl(responded: true)
            return [.send(POP3Command(withResponse, secret: true))]
        }
        authStep = .sasl(responded: false)
        return [.send(POP3Command("AUTH \(mechanism)"))]
    }

    private mutating func authResponse(_ status: POP3Status) -> [Action] {
        switch (authStep, status) {
        case (.user, .ok):
            guard case .password(_, let password) = credentials else { return fatal(.protocolError("USER without a password")) }
            authStep = .pass
            return [.send(POP3Command("PASS \(password)", secret: true))]
        case (_, .ok):
            stage = .transaction
            credentials = nil
            return [.succeed(.authenticated)]
        case (_, .err(let text)):
            // RFC 1939 section 7 (USER, PASS), RFC 5034 section 4 (AUTH): the session stays
            // in the AUTHORIZATION state and may try again.
            stage = .authorization
            credentials = nil
            var reason = text.isEmpty ? "the server refused the credentials" : text
            if let saslError { reason += " (\(saslError))" }
            saslError = nil
            return [.fail(.authenticationFailed(reason))]
        case (.sasl(responded: false), .continuation):
            authStep = .sasl(responded: true)
            return [.send(POP3Command(saslResponse, secret: true))]
        case (.sasl(responded: true), .continuation(let challenge)):
            // A challenge after the whole response is the server's error report (RFC 7628
            // section 3.2.2); the client ends the exchange (section 3.2.3) as the mechanism
            // says, or with `*` (cancel, RFC 5034 section 4) for another mechanism.
            authStep = .saslFailing
            saslError = OAuthSASLErrorChallenge(base64: challenge)
            return [.send(POP3Command(saslMechanism?.errorChallengeAnswer ?? "*"))]
        default:
            return fatal(.protocolError("unexpected \(status) while authenticating"))
        }
    }

    // MARK: Commands (RFC 1939 sections 5, 6 and 7)

    public mutating func command(_ command: Command) -> [Action] {
        let allowed = stage == .transaction || (command == .quit && stage == .authorization)
        guard allowed else { return [.fail(.protocolError("cannot send \(command) while \(waitingFor)"))] }
        if case .retrieve(let number) = command, number < 1 { return [.fail(.protocolError("message numbers start at 1"))] }
        if case .delete(let number) = command, number < 1 { return [.fail(.protocolError("message numbers start at 1"))] }
        running = command
        stage = .command
        let line: POP3Command = switch command {
        case .stat: POP3Command("STAT")
        case .uidl: POP3Command("UIDL", response: .multiLine)
        case .list: POP3Command("LIST", response: .multiLine)
        case .retrieve(let number): POP3Command("RETR \(number)", response: .message)
        case .delete(let number): POP3Command("DELE \(number)")
        case .noop: POP3Command("NOOP")
        case .reset: POP3Command("RSET")
        case .quit: POP3Command("QUIT")
        }
        return [.send(line)]
    }

    private mutating func commandResponse(_ event: POP3ResponseEvent) -> [Action] {
        guard let command = running else { return fatal(.protocolError("a response while no command was running")) }
        switch (command, event) {
        case (.quit, .status(.ok)):
            // RFC 1939 section 6: the UPDATE state removed the deleted messages.
            stage = .closed
            return [.succeed(.done), .close]
        case (.quit, .status(.err(let text))):
            // RFC 1939 section 6: some deleted messages could not be removed.
            stage = .closed
            return [.fail(.commandFailed(text)), .close]
        case (_, .status(.err(let text))) where !retrieving:
            return finish(.fail(.commandFailed(text)))
        case (.stat, .status(.ok(let text))):
            let words = text.split(separator: " ")
            guard words.count >= 2, let count = Int(words[0]), let size = Int(words[1]) else {
                return fatal(.protocolError("malformed STAT response: +OK \(text)"))
            }
            return finish(.succeed(.stat(count: count, size: size)))
        case (.uidl, .lines(_, let lines)):
            guard let ids = Self.parseUIDL(lines) else { return fatal(.protocolError("malformed UIDL response")) }
            return finish(.succeed(.uidl(ids)))
        case (.list, .lines(_, let lines)):
            guard let entries = Self.parseList(lines) else { return fatal(.protocolError("malformed LIST response")) }
            return finish(.succeed(.list(entries)))
        case (.retrieve, .messageStart):
            retrieving = true
            return []
        case (.retrieve, .messageChunk(let chunk)) where retrieving:
            return [.deliver(chunk)]
        case (.retrieve, .messageEnd) where retrieving:
            retrieving = false
            return finish(.succeed(.done))
        case (.delete, .status(.ok)), (.noop, .status(.ok)), (.reset, .status(.ok)):
            return finish(.succeed(.done))
        default:
            return fatal(.protocolError("unexpected response \(Self.describe(event)) to \(command)"))
        }
    }

    private mutating func finish(_ action: Action) -> [Action] {
        running = nil
        stage = .transaction
        return [action]
    }

    /// RFC 1939 section 7: `n uid`, the uid 1 to 70 characters in 0x21...0x7E.
    static func parseUIDL(_ lines: [String]) -> [POP3UniqueID]? {
        var result: [POP3UniqueID] = []
        for line in lines {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard words.count == 2, let number = Int(words[0]), number > 0 else { return nil }
            let uid = words[1]
            guard (1...70).contains(uid.utf8.count), uid.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else { return nil }
            result.append(POP3UniqueID(number: number, uid: String(uid)))
        }
        return result
    }

    /// RFC 1939 section 5: `n size` (anything after the size is ignored, as the RFC allows).
    static func parseList(_ lines: [String]) -> [POP3ListEntry]? {
        var result: [POP3ListEntry] = []
        for line in lines {
            let words = line.split(separator: " ")
            guard words.count >= 2, let number = Int(words[0]), let size = Int(words[1]), number > 0, size >= 0 else { return nil }
            result.append(POP3ListEntry(number: number, size: size))
        }
        return result
    }

    private mutating func fatal(_ error: POP3Error) -> [Action] {
        stage = .closed
        running = nil
        retrieving = false
        credentials = nil
        return [.fail(error), .close]
    }

    private static func describe(_ event: POP3ResponseEvent) -> String {
        switch event {
        case .status(let status): String("\(status)".prefix(80))
        case .lines(let text, let lines): "+OK \(text.prefix(60)) with \(lines.count) lines"
        case .messageStart: "the start of a message"
        case .messageChunk: "message data"
        case .messageEnd: "the end of a message"
        case .tlsEstablished: "a TLS handshake"
        }
    }
}

extension POP3ClientStateMachine: ConnectorStateMachine {
    static func failure(reading error: any Error) -> POP3Error { .sessionError(error) }
    static func closed(_ reason: String) -> POP3Error { .connectionClosed(reason) }

    static func trace(_ event: POP3ResponseEvent) -> String? {
        if case .messageChunk = event { return nil }
        return "\(event)"
    }
}
