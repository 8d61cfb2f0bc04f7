import Foundation
import NIOCore
import PostgateStore
import PostgateIndex
import PostgateDirectory

/// The state of one IMAP session (RFC 9051 section 3: not authenticated, authenticated,
/// selected, logout) as a value type that returns what the channel handler must do.
///
/// It checks which commands are allowed in which state and before TLS, answers the
/// commands that need no store, and hands the others out as `.execute` with the
/// session's context; the result comes back through `executed(_:)`.
public struct IMAPSessionStateMachine: Sendable {
    public enum State: Sendable {
        case notAuthenticated
        case authenticated(AgentIdentity)
        case selected(AgentIdentity, IMAPSelectedMailbox)
        case logout
    }

    public enum Action: Sendable {
        case nothing
        case send([UInt8])
        case sendAndClose([UInt8])
        /// Send the OK, then start TLS; bytes received meanwhile are dropped.
        case startTLS([UInt8])
        /// Check the password off the event loop, then call `loginFinished`.
        case authenticate(tag: String, user: String, password: String)
        /// Run a store command off the event loop, then call `executed`.
        case execute(IMAPTaggedCommand, IMAPSessionContext)
        /// Send the continuation and report mailbox changes until DONE.
        case startIdle([UInt8])
        /// Take the announced APPEND message literal (`IMAPFrameDecoder.streamMessageLiteral`):
        /// send `bytes` (the continuation request of a synchronizing literal, else nothing)
        /// and stream its octets to a spool file.
        case receiveMessage([UInt8])
        /// Refuse the announced APPEND message literal (`IMAPFrameDecoder.refuseMessageLiteral`)
        /// and send `bytes`, the command's tagged reply.
        case refuseMessage([UInt8])
        /// Append the next octets of the message being received to its spool file.
        case storeMessageData(ByteBuffer)
    }

    public let configuration: IMAPServerConfiguration
    public private(set) var state: State = .notAuthenticated
    public private(set) var tlsActive: Bool
    public let tlsAvailable: Bool
    /// A command is running off the loop; no other is taken.
    public private(set) var busy = false
    /// CONDSTORE is enabled (RFC 7162 section 3.1): by ENABLE or any enabling command.
    public private(set) var condStore = false
    /// QRESYNC is enabled (RFC 7162 section 3.2.3): only by ENABLE, and with CONDSTORE.
    public private(set) var qresync = false
    private var awaitingSASL: String?
    private var idleTag: String?
    private var errors = 0

    public init(configuration: IMAPServerConfiguration, tlsAvailable: Bool, tlsActive: Bool = false) {
        self.configuration = configuration
        self.tlsAvailable = tlsAvailable
        self.tlsActive = tlsActive
    }

    public var isIdling: Bool { idleTag != nil }

    /// Whether the client has logged in (RFC 9051 section 3: past the not-authenticated state).
    public var isAuthenticated: Bool {
        switch state {
        case .notAuthenticated: false
        default: true
        }
    }

    public var context: IMAPSessionContext? {
        switch state {
        case .authenticated(let agent): IMAPSessionContext(agent: agent, selected: nil, condStore: condStore, qresync: qresync)
        case .selected(let agent, let mailbox): IMAPSessionContext(agent: agent, selected: mailbox, condStore: condStore, qresync: qresync)
        default: nil
        }
    }

    private var authAllowed: Bool { tlsActive || configuration.allowPlaintextAuth }

    /// The capabilities for the current state (RFC 9051 section 7.2.2).
    public var capabilities: String {
        // RFC 7888 section 5: before login only small literals are taken (LITERAL-).
        let literal = if case .notAuthenticated = state { "LITERAL-" } else { "LITERAL+" }
        var words = ["IMAP4rev1", literal, "ID", "ENABLE", "IDLE", "NAMESPACE", "UNSELECT", "UIDPLUS", "MULTIAPPEND", "MOVE",
                     "SPECIAL-USE", "LIST-EXTENDED", "CHILDREN", "SORT", "THREAD=REFERENCES", "THREAD=ORDEREDSUBJECT", "ESEARCH",
                     "CONDSTORE", "QRESYNC", "APPENDLIMIT=\(configuration.maxLiteralSize)", "PREVIEW", "STATUS=SIZE", "LIST-STATUS", "SAVEDATE", "OBJECTID"]
        if case .notAuthenticated = state {
            if tlsAvailable, !tlsActive { words.append("STARTTLS") }
            words += authAllowed ? ["AUTH=PLAIN", "SASL-IR"] : ["LOGINDISABLED"]
        }
        return words.joined(separator: " ")
    }

    public func greeting() -> Action {
        var w = IMAPResponseWriter()
        w.untagged("OK [CAPABILITY \(capabilities)] \(configuration.hostname) Postgate IMAP ready")
        return .send(w.bytes)
    }

    // MARK: - Input

    public mutating func receive(_ event: IMAPFrameDecoder.Event) -> Action {
        switch event {
        case .continuationRequest:
            return .send(Array("+ Ready for literal data\r\n".utf8))
        case .lineTooLong(let tag):
            return bad(tag, "Command line too long")
        case .literalTooLarge(let tag, let synchronizing):
            var w = IMAPResponseWriter()
            // RFC 7888 section 4: a non-synchronizing literal too large is refused with
            // BAD [TOOBIG]; its octets are on their way, so the session cannot go on.
            guard synchronizing else {
                w.tagged(tag ?? "*", .bad, code: "TOOBIG", "Literal too large")
                w.untagged("BYE Literal too large")
                return .sendAndClose(w.bytes)
            }
            w.tagged(tag ?? "*", .no, code: "TOOBIG", "Literal too large")
            return .send(w.bytes)
        case .frame(let frame):
            return receive(frame)
        case .messageLiteral(let head, let size, let synchronizing):
            return messageLiteral(tag: head.tag ?? "*", size: size, synchronizing: synchronizing)
        case .messageData(let bytes):
            return .storeMessageData(bytes)
        }
    }

    /// An APPEND announced its message (RFC 9051 section 6.3.12). It is refused before a
    /// synchronizing literal's octets are sent where it cannot be taken (section 7.5: the
    /// tagged reply instead of the continuation request): before login, or above the limit
    /// advertised as APPENDLIMIT (RFC 7889: NO [TOOBIG]). Otherwise it streams to a
    /// spool file, and the command runs once its line has ended.
    private mutating func messageLiteral(tag: String, size: Int, synchronizing: Bool) -> Action {
        var w = IMAPResponseWriter()
        if let saslTag = awaitingSASL {
            awaitingSASL = nil
            w.tagged(saslTag, .bad, "Bad SASL response")
            return .refuseMessage(w.bytes)
        }
        if let idle = idleTag {
            idleTag = nil
            w.tagged(idle, .bad, "Expected DONE")
            return .refuseMessage(w.bytes)
        }
        guard context != nil else {
            w.tagged(tag, .no, "Log in first")
            return .refuseMessage(w.bytes)
        }
        guard size <= configuration.maxLiteralSize else {
            w.tagged(tag, .no, code: "TOOBIG", "Message larger than APPENDLIMIT \(configuration.maxLiteralSize)")
            return .refuseMessage(w.bytes)
        }
        return .receiveMessage(synchronizing ? Array("+ Ready for literal data\r\n".utf8) : [])
    }

    private mutating func receive(_ frame: IMAPFrameDecoder.Frame) -> Action {
        if let tag = awaitingSASL { return saslResponse(frame, tag: tag) }
        if let tag = idleTag { return idleInput(frame, tag: tag) }
        switch IMAPCommandParser.parse(frame) {
        case .failure(let failure):
            return bad(failure.tag, failure.message)
        case .success(let command):
            errors = 0
            return receive(command)
        }
    }

    private mutating func receive(_ tagged: IMAPTaggedCommand) -> Action {
        let tag = tagged.tag
        var w = IMAPResponseWriter()
        switch tagged.command {
        case .capability:
            w.untagged("CAPABILITY " + capabilities)
            w.tagged(tag, .ok, "CAPABILITY completed")
            return .send(w.bytes)
        case .logout:
            state = .logout
            w.untagged("BYE \(configuration.hostname) logging out")
            w.tagged(tag, .ok, "LOGOUT completed")
            return .sendAndClose(w.bytes)
        case .noop where context == nil:
            w.tagged(tag, .ok, "NOOP completed")
            return .send(w.bytes)
        case .id:
            w.untagged("ID (\"name\" \"Postgate\")")
            w.tagged(tag, .ok, "ID completed")
            return .send(w.bytes)
        case .startTLS:
            return startTLS(tag)
        case .login(let user, let password):
            return login(tag, user: user, password: password)
        case .authenticate(let mechanism, let initial):
            return authenticate(tag, mechanism: mechanism, initial: initial)
        default:
            break
        }
        guard let context else { return no(tag, "Log in first") }
        switch tagged.command {
        case .namespace:
            w.untagged("NAMESPACE ((\"\" \"/\")) NIL ((\"\(VisibleMailbox.sharedPrefix)\" \"/\"))")
            w.tagged(tag, .ok, "NAMESPACE completed")
            return .send(w.bytes)
        case .enable(let capabilities):
            // RFC 5161: ENABLED names what was enabled, each once. QRESYNC enables
            // CONDSTORE too (RFC 7162 section 3.2.3).
            var enabled: [String] = []
            for capability in capabilities where ["CONDSTORE", "QRESYNC"].contains(capability) && !enabled.contains(capability) {
                enabled.append(capability)
            }
            if !enabled.isEmpty { condStore = true }
            if enabled.contains("QRESYNC") { qresync = true }
            w.untagged((["ENABLED"] + enabled).joined(separator: " "))
            w.tagged(tag, .ok, "ENABLE completed")
            return .send(w.bytes)
        // RFC 7162 sections 3.2.5 and 3.2.6: the QRESYNC parameter and the VANISHED
        // modifier need ENABLE QRESYNC first.
        case .select(_, _, _, .some) where !qresync, .fetch(_, _, _, _, true) where !qresync:
            return bad(tag, "Use ENABLE QRESYNC first")
        case .unselect:
            guard context.selected != nil else { return bad(tag, "No mailbox selected") }
            state = .authenticated(context.agent)
            w.tagged(tag, .ok, "UNSELECT completed")
            return .send(w.bytes)
        case .idle:
            idleTag = tag
            return .startIdle(Array("+ idling\r\n".utf8))
        case .check, .close, .expunge, .search, .fetch, .store, .copy, .move, .sort, .thread:
            guard context.selected != nil else { return bad(tag, "No mailbox selected") }
        default:
            break
        }
        let enabling = !condStore && tagged.command.enablesCondStore
        if enabling { condStore = true }
        busy = true
        var running = self.context ?? context
        running.enablingCondStore = enabling
        return .execute(tagged, running)
    }

    /// The result of an `.execute`: new selected-mailbox state and the bytes to send.
    public mutating func executed(_ result: IMAPExecutionResult) -> Action {
        busy = false
        if case .logout = state { return .nothing }
        if let agent = context?.agent {
            state = result.selected.map { .selected(agent, $0) } ?? .authenticated(agent)
        }
        return .send(result.output)
    }

    /// Mailbox changes noticed while idling (or after a failure to report them).
    public mutating func idleUpdate(_ result: IMAPExecutionResult) -> Action {
        executed(result)
    }

    // MARK: - TLS and login

    private mutating func startTLS(_ tag: String) -> Action {
        guard case .notAuthenticated = state, tlsAvailable, !tlsActive else {
            return bad(tag, tlsActive ? "TLS is already active" : "STARTTLS is not available now")
        }
        var w = IMAPResponseWriter()
        w.tagged(tag, .ok, "Begin TLS negotiation now")
        return .startTLS(w.bytes)
    }

    public mutating func tlsStarted() {
        tlsActive = true
    }

    private mutating func login(_ tag: String, user: String, password: String) -> Action {
        guard case .notAuthenticated = state else { return bad(tag, "Already logged in") }
        guard authAllowed else { return no(tag, "Log in only after STARTTLS", code: "PRIVACYREQUIRED") }
        busy = true
        return .authenticate(tag: tag, user: user, password: password)
    }

    private mutating func authenticate(_ tag: String, mechanism: String, initial: String?) -> Action {
        guard case .notAuthenticated = state else { return bad(tag, "Already logged in") }
        guard mechanism == "PLAIN" else { return no(tag, "Unsupported mechanism \(mechanism)") }
        guard authAllowed else { return no(tag, "Authenticate only after STARTTLS", code: "PRIVACYREQUIRED") }
        guard let initial else {
            awaitingSASL = tag
            return .send(Array("+ \r\n".utf8))
        }
        return plain(initial, tag: tag)
    }

    private mutating func saslResponse(_ frame: IMAPFrameDecoder.Frame, tag: String) -> Action {
        awaitingSASL = nil
        guard case .text(let line)? = frame.parts.first, frame.parts.count == 1 else { return bad(tag, "Bad SASL response") }
        let text = String(decoding: line, as: UTF8.self)
        if text == "*" { return bad(tag, "AUTHENTICATE cancelled") }
        return plain(text, tag: tag)
    }

    /// SASL PLAIN (RFC 4616): base64 of `authzid NUL authcid NUL password`.
    private mutating func plain(_ base64: String, tag: String) -> Action {
        guard let data = Data(base64Encoded: base64 == "=" ? "" : base64) else { return bad(tag, "Bad base64") }
        let fields = data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        guard fields.count == 3, fields[0].isEmpty || fields[0] == fields[1] else {
            return no(tag, "Bad PLAIN credentials", code: "AUTHENTICATIONFAILED")
        }
        busy = true
        return .authenticate(tag: tag, user: fields[1], password: fields[2])
    }

    /// The outcome of `.authenticate` (after the failure delay, for a failure).
    public mutating func loginFinished(tag: String, agent: AgentIdentity?, refusal: String? = nil) -> Action {
        busy = false
        var w = IMAPResponseWriter()
        guard let agent else {
            w.tagged(tag, .no, code: refusal == nil ? "AUTHENTICATIONFAILED" : "UNAVAILABLE", refusal ?? "Authentication failed")
            return .send(w.bytes)
        }
        state = .authenticated(agent)
        w.tagged(tag, .ok, code: "CAPABILITY \(capabilities)", "Logged in")
        return .send(w.bytes)
    }

    // MARK: - IDLE

    private mutating func idleInput(_ frame: IMAPFrameDecoder.Frame, tag: String) -> Action {
        guard case .text(let line)? = frame.parts.first, String(decoding: line, as: UTF8.self).uppercased() == "DONE" else {
            idleTag = nil
            return bad(tag, "Expected DONE")
        }
        idleTag = nil
        guard let context else { return .nothing }
        busy = true
        return .execute(IMAPTaggedCommand(tag: tag, command: .idle), context)
    }

    // MARK: - Errors

    /// The session ends with BYE (server shutdown, RFC 9051 section 7.1.5).
    public mutating func shutdown() -> Action {
        state = .logout
        var w = IMAPResponseWriter()
        w.untagged("BYE Server shutting down")
        return .sendAndClose(w.bytes)
    }

    public mutating func timedOut() -> Action {
        state = .logout
        var w = IMAPResponseWriter()
        w.untagged("BYE Autologout; idle for too long")
        return .sendAndClose(w.bytes)
    }

    private mutating func bad(_ tag: String?, _ text: String) -> Action {
        errors += 1
        var w = IMAPResponseWriter()
        if errors >= configuration.maxErrors {
            w.untagged("BYE Too many errors")
            return .sendAndClose(w.bytes)
        }
        w.tagged(tag ?? "*", .bad, text)
        return .send(w.bytes)
    }

    private func no(_ tag: String, _ text: String, code: String? = nil) -> Action {
        var w = IMAPResponseWriter()
        w.tagged(tag, .no, code: code, text)
        return .send(w.bytes)
    }
}

/// What a store command runs with: who is logged in and the selected mailbox, if any.
public struct IMAPSessionContext: Sendable {
    public var agent: AgentIdentity
    public var selected: IMAPSelectedMailbox?
    /// CONDSTORE is enabled: flag changes are reported with MODSEQ (RFC 7162 section 3.1).
    public var condStore = false
    /// QRESYNC is enabled: expunges are reported as VANISHED (RFC 7162 section 3.2).
    public var qresync = false
    /// This command is the session's first CONDSTORE enabling command (RFC 7162 section 3.1).
    public var enablingCondStore = false
}

/// What a store command produced.
public struct IMAPExecutionResult: Sendable {
    public var output: [UInt8]
    public var selected: IMAPSelectedMailbox?

    public init(output: [UInt8], selected: IMAPSelectedMailbox?) {
        self.output = output
        self.selected = selected
    }
}
