import PostgateOAuth
import NIOCore

/// The client side of an IMAP session (RFC 9051, RFC 3501; STARTTLS section 6.2.1; SASL
/// AUTHENTICATE section 6.2.2 with SASL-IR RFC 4959, PLAIN RFC 4616, XOAUTH2, OAUTHBEARER
/// RFC 7628; LOGIN section 6.2.3; LIST with SPECIAL-USE RFC 6154; SELECT and EXAMINE with
/// CONDSTORE RFC 7162; UID SEARCH, FETCH, STORE; MOVE RFC 6851 or COPY, STORE and UID EXPUNGE
/// with UIDPLUS RFC 4315; APPEND section 6.3.12 with LITERAL+ and LITERAL- RFC 7888; IDLE
/// RFC 2177) as a value type: it is fed the framed responses and
/// answers with what the session must do. It does no I/O.
///
/// One operation runs at a time: connecting (greeting, capabilities, STARTTLS, capabilities
/// again), authenticating, or one command, which may take several IMAP commands (a fetch that
/// checks the size first, a move without MOVE). Each ends with exactly one `.succeed` or
/// `.fail`; `.close` follows when the session cannot go on. A NO or BAD to a command fails the
/// command only.
public struct IMAPClientStateMachine: Sendable {
    public enum Command: Sendable, Equatable {
        case capability, noop, logout
        case list(reference: String, pattern: String)
        /// SELECT, or EXAMINE when `readOnly`.
        case select(String, readOnly: Bool)
        case search([IMAPSearchKey])
        /// UID, RFC822.SIZE, INTERNALDATE and FLAGS of the messages in the set.
        case fetchInfo(IMAPUIDSet)
        /// One message's BODY.PEEK[], streamed; with `maxSize`, its RFC822.SIZE is asked first.
        case fetchMessage(uid: UInt32, maxSize: Int?)
        /// UID STORE +FLAGS.SILENT.
        case addFlags([String], uids: [UInt32])
        case move(uids: [UInt32], to: String)
        /// IDLE until the mailbox changes or `seconds` pass.
        case idle(seconds: Double)
        /// APPEND `message` to the mailbox with `flags` (RFC 9051 section 6.3.12).
        case append(mailbox: String, flags: [String], message: [UInt8])
    }

    public enum Outcome: Sendable, Equatable {
        /// Greeting, capabilities and TLS done: ready to authenticate (or authenticated, after PREAUTH).
        case connected
        case authenticated
        case capabilities(Set<String>)
        case mailboxes([IMAPMailbox])
        case selected(IMAPMailboxStatus)
        case uids([UInt32])
        case messages([IMAPMessageInfo])
        case fetched(IMAPFetchOutcome)
        case idle(IMAPIdleOutcome)
        /// APPEND done; the new message's UIDVALIDITY and UID where the server reports them
        /// (APPENDUID, RFC 4315 section 3).
        case appended(uidValidity: UInt32?, uid: UInt32?)
        /// NOOP, LOGOUT, STORE, MOVE.
        case done
    }

    /// What the session must do: send, start TLS, deliver a chunk, tell the caller the server
    /// idles, succeed, fail, close.
    public typealias Action = ConnectorAction<IMAPClientCommand, Outcome, IMAPClientError>

    public enum Stage: Sendable, Equatable {
        case greeting, capabilities, startTLS, tlsHandshake
        /// RFC 9051 section 3.1.
        case notAuthenticated
        case authenticating
        /// RFC 9051 section 3.2 (and 3.3 once a mailbox is selected); no command running.
        case authenticated
        case command
        case closed
    }

    private enum IdlePhase: Equatable { case starting, idling, doneSent }
    private enum MoveStep: Equatable { case move, copy, store, expunge }

    private struct BodyFetch: Equatable {
        var uid: UInt32
        var maxSize: Int?
        var sawBody = false
        var size = 0
        var remaining = 0
        var skipping = false
    }

    private struct SelectState: Equatable {
        var name: String
        var readOnly: Bool
        var uidValidity: UInt32?
        var uidNext: UInt32?
        var exists = 0
        var highestModSeq: UInt64?
        var flags: [String] = []
    }

    private enum Running: Equatable {
        case connectCapability, startTLS, login
        case sasl(mechanism: String, response: String, responded: Bool, serverError: String?)
        case authCapability
        case capability, noop, logout, store, append
        case list([IMAPMailbox])
        case select(SelectState)
        case search([IMAPSearchKey], [UInt32])
        case fetchInfo(IMAPUIDSet, [UInt32: IMAPFetchAttributes])
        case fetchSize(uid: UInt32, maxSize: Int, size: Int?)
        case fetchBody(BodyFetch)
        case move(MoveStep, uids: [UInt32], mailbox: String)
        case idle(IdlePhase, changed: Bool)

        var name: String {
            switch self {
            case .connectCapability, .authCapability, .capability: "CAPABILITY"
            case .startTLS: "STARTTLS"
            case .login: "LOGIN"
            case .sasl(let mechanism, _, _, _): "AUTHENTICATE \(mechanism)"
            case .noop: "NOOP"
            case .logout: "LOGOUT"
            case .store: "UID STORE"
            case .append: "APPEND"
            case .list: "LIST"
            case .select(let state): state.readOnly ? "EXAMINE" : "SELECT"
            case .search: "UID SEARCH"
            case .fetchInfo, .fetchSize, .fetchBody: "UID FETCH"
            case .move(let step, _, _):
                switch step {
                case .move: "UID MOVE"
                case .copy: "UID COPY"
                case .store: "UID STORE"
                case .expunge: "UID EXPUNGE"
                }
            case .idle: "IDLE"
            }
        }
    }

    public let tlsMode: IMAPTLSMode
    public let allowPlaintextAuthentication: Bool
    public private(set) var stage = Stage.greeting
    /// True once a TLS handshake completed on this connection.
    public private(set) var tlsActive = false
    /// The server's capabilities, upper-cased, as last reported (RFC 9051 section 7.2.2).
    public private(set) var capabilities: Set<String> = []
    /// The selected mailbox, kept current with EXISTS and EXPUNGE.
    public private(set) var selected: IMAPMailboxStatus?
    private var preauthenticated = false
    private var running: Running?
    /// The stage to return to when the running command ends.
    private var resumeStage = Stage.notAuthenticated
    private var currentTag: String?
    private var tagCounter = 0
    /// Pieces of the running command waiting for the server's continuation.
    private var pending: [IMAPClientCommand] = []
    /// The text of an untagged BYE (RFC 9051 section 7.1.5).
    private var bye: String?

    public init(tlsMode: IMAPTLSMode, allowPlaintextAuthentication: Bool = false) {
        self.tlsMode = tlsMode
        self.allowPlaintextAuthentication = allowPlaintextAuthentication
    }

    // MARK: Events

    public mutating func receive(_ event: IMAPClientEvent) -> [Action] {
        guard stage != .closed else { return [] }
        switch event {
        case .tlsEstablished:
            if stage == .greeting && tlsMode == .implicit && !tlsActive {
                // Implicit TLS: the handshake comes before the greeting.
                tlsActive = true
                return []
            }
            guard stage == .tlsHandshake else { return fatal(.protocolError("a TLS handshake while \(waitingFor)")) }
            // RFC 9051 section 6.2.1: capabilities learned before TLS are discarded and asked again.
            tlsActive = true
            capabilities = []
            stage = .capabilities
            return start(.connectCapability, [.raw("CAPABILITY")])
        case .idleTimerFired:
            guard case .idle(.idling, let changed) = running else { return [] }
            running = .idle(.doneSent, changed: changed)
            return [.send(IMAPClientCommand(line: "DONE"))]
        case .literalStart(let head, let size):
            return literalStart(head: head, size: size)
        case .literalChunk(let chunk):
            guard case .fetchBody(var body) = running, chunk.readableBytes <= body.remaining else {
                return fatal(.protocolError("literal data where none was expected"))
            }
            body.remaining -= chunk.readableBytes
            running = .fetchBody(body)
            return body.skipping ? [] : [.deliver(chunk)]
        case .response(let response), .streamedResponse(let response):
            return receive(response)
        }
    }

    private mutating func receive(_ response: IMAPResponse) -> [Action] {
        switch response {
        case .continuation(let text):
            return continuation(text)
        case .untagged(let untagged):
            return receive(untagged)
        case .tagged(let tag, let status):
            guard let currentTag, tag == currentTag else {
                return fatal(.protocolError("a response tagged \(tag) while \(waitingFor)"))
            }
            self.currentTag = nil
            pending = []
            return completed(status)
        }
    }

    /// The TLS handshake failed (the session maps the handshake error).
    public mutating func tlsFailed(_ error: IMAPClientError) -> [Action] {
        fatal(error)
    }

    /// The connection closed or failed.
    public mutating func connectionClosed(_ error: IMAPClientError) -> [Action] {
        guard stage != .closed else { return [] }
        let loggingOut = running == .logout
        stage = .closed
        running = nil
        if loggingOut { return [.succeed(.done)] }
        if case .connectionClosed = error, let bye { return [.fail(.connectionClosed("the server ended the session: BYE \(bye)"))] }
        return [.fail(error)]
    }

    private var waitingFor: String {
        switch stage {
        case .greeting: "waiting for the greeting"
        case .capabilities: "waiting for the capabilities"
        case .startTLS: "waiting for the STARTTLS response"
        case .tlsHandshake: "in the TLS handshake"
        case .notAuthenticated: "not authenticated"
        case .authenticating: "authenticating"
        case .authenticated: "no command was running"
        case .command: "waiting for the response to \(running?.name ?? "a command")"
        case .closed: "closed"
        }
    }

    // MARK: Untagged responses

    private mutating func receive(_ untagged: IMAPUntaggedResponse) -> [Action] {
        switch untagged {
        case .status(let status):
            if stage == .greeting { return greeted(status) }
            if status.status == .bye {
                bye = status.codeAndText
                return []
            }
            if let code = status.code { responseCode(code) }
            return []
        case .capability(let names):
            capabilities = Set(names)
            return []
        case .exists(let count):
            selected?.exists = count
            if case .select(var state) = running {
                state.exists = count
                running = .select(state)
            }
            return mailboxChanged()
        case .expunge:
            if let exists = selected?.exists { selected?.exists = max(0, exists - 1) }
            return mailboxChanged()
        case .flags(let flags):
            if case .select(var state) = running {
                state.flags = flags
                running = .select(state)
            }
            return []
        case .list(let mailbox):
            if case .list(var mailboxes) = running {
                mailboxes.append(mailbox)
                running = .list(mailboxes)
            }
            return []
        case .search(let uids):
            if case .search(let keys, let found) = running { running = .search(keys, found + uids) }
            return []
        case .fetch(_, let attributes):
            return fetched(attributes)
        case .recent, .other:
            return []
        }
    }

    /// Response codes in untagged OK responses (RFC 9051 section 7.1; RFC 7162 section 3.1.2.1).
    private mutating func responseCode(_ code: IMAPResponseCode) {
        if code.name == "CAPABILITY" {
            capabilities = Set(code.arguments.compactMap { $0.text?.uppercased() })
            return
        }
        guard case .select(var state) = running else { return }
        let number = code.arguments.first?.number
        switch code.name {
        case "UIDVALIDITY": state.uidValidity = number.flatMap { UInt32(exactly: $0) }
        case "UIDNEXT": state.uidNext = number.flatMap { UInt32(exactly: $0) }
        case "HIGHESTMODSEQ": state.highestModSeq = number
        case "NOMODSEQ": state.highestModSeq = nil
        default: break
        }
        running = .select(state)
    }

    /// EXISTS or EXPUNGE: an IDLE ends with DONE (RFC 2177 section 3).
    private mutating func mailboxChanged() -> [Action] {
        guard case .idle(let phase, _) = running else { return [] }
        if phase == .idling {
            running = .idle(.doneSent, changed: true)
            return [.send(IMAPClientCommand(line: "DONE"))]
        }
        running = .idle(phase, changed: true)
        return []
    }

    // MARK: Connecting

    private mutating func greeted(_ status: IMAPStatusResponse) -> [Action] {
        // RFC 9051 section 7.1: the greeting is OK, PREAUTH or BYE.
        switch status.status {
        case .ok, .preauth:
            if tlsMode == .implicit && !tlsActive { return fatal(.tlsFailed("the greeting came without TLS")) }
            if status.status == .preauth && tlsMode == .startTLS {
                // RFC 9051 section 6.2.1: STARTTLS is not allowed once authenticated.
                return fatal(.tlsFailed("the server authenticated the connection before STARTTLS"))
            }
            preauthenticated = status.status == .preauth
            if let code = status.code, code.name == "CAPABILITY" {
                capabilities = Set(code.arguments.compactMap { $0.text?.uppercased() })
                return afterCapabilities()
            }
            stage = .capabilities
            return start(.connectCapability, [.raw("CAPABILITY")])
        case .bye:
            return fatal(.connectionClosed("the server refused the session: \(status)"))
        case .no, .bad:
            return fatal(.protocolError("the greeting is \(status)"))
        }
    }

    private mutating func afterCapabilities() -> [Action] {
        if tlsMode == .startTLS && !tlsActive {
            guard capabilities.contains("STARTTLS") else { return fatal(.tlsFailed("the server does not offer STARTTLS")) }
            stage = .startTLS
            return start(.startTLS, [.raw("STARTTLS")], startsTLS: true)
        }
        stage = preauthenticated ? .authenticated : .notAuthenticated
        return [.succeed(.connected)]
    }

    // MARK: Authenticating

    public mutating func authenticate(_ credentials: IMAPCredentials) -> [Action] {
        // RFC 9051 section 7.1.4: after a PREAUTH greeting the session is authenticated already.
        if preauthenticated && stage == .authenticated { return [.succeed(.authenticated)] }
        guard stage == .notAuthenticated else { return [.fail(.protocolError("cannot authenticate while \(waitingFor)"))] }
        guard tlsActive || allowPlaintextAuthentication else { return [.fail(.plaintextAuthenticationRefused)] }
        switch credentials {
        case .password(let user, let password):
            if capabilities.contains("AUTH=PLAIN") {
                return startSASL("PLAIN", encoded: ConnectorSASL.base64(ConnectorSASL.plain(user: user, password: password)))
            }
            return login(user: user, password: password)
        case .login(let user, let password):
            return login(user: user, password: password)
        case .xoauth2(let user, let token):
            return startSASL(OAuthSASLMechanism.xoauth2.name, encoded: OAuthSASLMechanism.xoauth2.initialResponse(user: user, token: token))
        case .oauthBearer(let user, let token):
            return startSASL(OAuthSASLMechanism.oauthBearer.name, encoded: OAuthSASLMechanism.oauthBearer.initialResponse(user: user, token: token))
        }
    }

    private mutating func login(user: String, password: String) -> [Action] {
        // RFC 9051 section 6.2.3: LOGINDISABLED forbids LOGIN.
        guard !capabilities.contains("LOGINDISABLED") else { return [.fail(.unsupported("LOGIN is disabled (LOGINDISABLED)"))] }
        stage = .authenticating
        return start(.login, [.raw("LOGIN"), .string(user), .string(password, secret: true)])
    }

    /// AUTHENTICATE `mechanism` with `encoded` (base64) as the initial response.
    private mutating func startSASL(_ mechanism: String, encoded: String) -> [Action] {
        guard capabilities.contains("AUTH=\(mechanism)") else { return [.fail(.unsupported("AUTH=\(mechanism)"))] }
        stage = .authenticating
        if capabilities.contains("SASL-IR") {
            // RFC 4959 section 3: the initial response goes with the command; `=` for an empty one.
            let running = Running.sasl(mechanism: mechanism, response: encoded, responded: true, serverError: nil)
            var actions = start(running, [.raw("AUTHENTICATE \(mechanism)"), .raw(encoded.isEmpty ? "=" : encoded)])
            if case .send(var command) = actions.first {
                command.logText = "\(command.tag ?? "") AUTHENTICATE \(mechanism) …"
                actions[0] = .send(command)
            }
            return actions
        }
        return start(.sasl(mechanism: mechanism, response: encoded, responded: false, serverError: nil), [.raw("AUTHENTICATE \(mechanism)")])
    }

    private mutating func continuation(_ text: String) -> [Action] {
        if !pending.isEmpty {
            // The server takes the synchronizing literal (RFC 9051 section 4.3).
            return [.send(pending.removeFirst())]
        }
        switch running {
        case .sasl(let mechanism, let response, responded: false, _):
            // RFC 9051 section 6.2.2: the initial response follows the server's empty challenge.
            running = .sasl(mechanism: mechanism, response: response, responded: true, serverError: nil)
            return [.send(IMAPClientCommand(line: response, secret: true))]
        case .sasl(let mechanism, let response, responded: true, _):
            // A challenge after the whole response is the server's error report (RFC 7628
            // section 3.2.2); the client answers so the server can send its NO.
            // Answered as the mechanism says (RFC 7628 section 3.2.3), else `*` cancels (RFC 4422 section 3.5).
            let report = OAuthSASLErrorChallenge(base64: text).map(\.description) ?? ConnectorSASL.printable(text)
            running = .sasl(mechanism: mechanism, response: response, responded: true, serverError: report)
            return [.send(IMAPClientCommand(line: OAuthSASLMechanism(rawValue: mechanism)?.errorChallengeAnswer ?? "*"))]
        case .idle(.starting, let changed):
            // RFC 2177 section 3: the server now reports changes until DONE.
            if changed {
                running = .idle(.doneSent, changed: true)
                return [.send(IMAPClientCommand(line: "DONE"))]
            }
            running = .idle(.idling, changed: false)
            return [.idling]
        default:
            return fatal(.protocolError("a continuation request while \(waitingFor)"))
        }
    }

    // MARK: Commands

    public mutating func command(_ command: Command) -> [Action] {
        let beforeAuthentication: Bool = switch command {
        case .capability, .noop, .logout: true
        default: false
        }
        guard stage == .authenticated || (beforeAuthentication && stage == .notAuthenticated) else {
            return [.fail(.protocolError("cannot send \(command) while \(waitingFor)"))]
        }
        let needsMailbox: Bool = switch command {
        case .search, .fetchInfo, .fetchMessage, .addFlags, .move, .idle: true
        default: false
        }
        if needsMailbox && selected == nil { return [.fail(.protocolError("no mailbox is selected"))] }
        resumeStage = stage
        switch command {
        case .capability:
            return start(.capability, [.raw("CAPABILITY")])
        case .noop:
            return start(.noop, [.raw("NOOP")])
        case .logout:
            return start(.logout, [.raw("LOGOUT")])
        case .list(let reference, let pattern):
            // RFC 6154 section 2: special uses are certain with the SPECIAL-USE return option.
            let returnOption: [IMAPCommandBuilder.Argument] = capabilities.contains("SPECIAL-USE") ? [.raw("RETURN (SPECIAL-USE)")] : []
            return start(.list([]), [.raw("LIST"), .string(reference), .string(pattern)] + returnOption)
        case .select(let name, let readOnly):
            // RFC 9051 section 6.3.2: a SELECT deselects the mailbox selected before, even if it fails.
            selected = nil
            let condStore: [IMAPCommandBuilder.Argument] = capabilities.contains("CONDSTORE") ? [.raw("(CONDSTORE)")] : []
            return start(.select(SelectState(name: name, readOnly: readOnly)), [.raw(readOnly ? "EXAMINE" : "SELECT"), .string(name)] + condStore)
        case .search(let keys):
            let emptySet = keys.contains { key in
                if case .uid(let set) = key { return set.isEmpty }
                return false
            }
            if emptySet { return [.succeed(.uids([]))] }
            let criteria = keys.isEmpty ? "ALL" : keys.map(\.wire).joined(separator: " ")
            return start(.search(keys, []), [.raw("UID SEARCH"), .raw(criteria)])
        case .fetchInfo(let set):
            guard !set.isEmpty else { return [.succeed(.messages([]))] }
            return start(.fetchInfo(set, [:]), [.raw("UID FETCH"), .raw(set.wire), .raw("(UID RFC822.SIZE INTERNALDATE FLAGS)")])
        case .fetchMessage(let uid, let maxSize):
            if let maxSize {
                return start(.fetchSize(uid: uid, maxSize: maxSize, size: nil), [.raw("UID FETCH"), .raw("\(uid)"), .raw("(UID RFC822.SIZE)")])
            }
            return startBodyFetch(uid: uid, maxSize: nil)
        case .addFlags(let flags, let uids):
            guard !uids.isEmpty else { return [.succeed(.done)] }
            return start(.store, [.raw("UID STORE"), .raw(IMAPUIDSet.uids(uids).wire), .raw("+FLAGS.SILENT (\(flags.joined(separator: " ")))")])
        case .move(let uids, let mailbox):
            guard !uids.isEmpty else { return [.succeed(.done)] }
            let set = IMAPUIDSet.uids(uids).wire
            if capabilities.contains("MOVE") {
                return start(.move(.move, uids: uids, mailbox: mailbox), [.raw("UID MOVE"), .raw(set), .string(mailbox)])
            }
            // RFC 6851 section 3.3: without MOVE, COPY, then \Deleted and UID EXPUNGE of just
            // these messages (RFC 4315 section 2.1); a plain EXPUNGE could remove others.
            guard capabilities.contains("UIDPLUS") else { return [.fail(.unsupported("neither MOVE (RFC 6851) nor UIDPLUS (RFC 4315)"))] }
            return start(.move(.copy, uids: uids, mailbox: mailbox), [.raw("UID COPY"), .raw(set), .string(mailbox)])
        case .idle(let seconds):
            guard capabilities.contains("IDLE") else { return [.fail(.unsupported("IDLE (RFC 2177)"))] }
            return start(.idle(.starting, changed: false), [.raw("IDLE")], timing: .idle(seconds: seconds))
        case .append(let mailbox, let flags, let message):
            // RFC 9051 section 6.3.12: the message is a literal; a synchronizing one waits for
            // the server's continuation, a refusal (too large, no such mailbox) comes instead.
            let flagList: [IMAPCommandBuilder.Argument] = flags.isEmpty ? [] : [.raw("(\(flags.joined(separator: " ")))")]
            return start(.append, [.raw("APPEND"), .string(mailbox)] + flagList + [.literal(message)])
        }
    }

    private mutating func startBodyFetch(uid: UInt32, maxSize: Int?) -> [Action] {
        start(.fetchBody(BodyFetch(uid: uid, maxSize: maxSize)), [.raw("UID FETCH"), .raw("\(uid)"), .raw("(UID BODY.PEEK[])")])
    }

    /// Sends a new command with the next tag.
    private mutating func start(
        _ operation: Running, _ arguments: [IMAPCommandBuilder.Argument],
        timing: IMAPClientCommand.Timing = .response, startsTLS: Bool = false
    ) -> [Action] {
        tagCounter += 1
        let tag = "A\(tagCounter)"
        let builder = IMAPCommandBuilder(literalPlus: capabilities.contains("LITERAL+"), literalMinus: capabilities.contains("LITERAL-"))
        var pieces = builder.pieces(tag: tag, arguments, timing: timing, startsTLS: startsTLS)
        running = operation
        currentTag = tag
        if stage == .authenticated || stage == .notAuthenticated { stage = .command }
        let first = pieces.removeFirst()
        pending = pieces
        return [.send(first)]
    }

    // MARK: FETCH data

    private mutating func fetched(_ attributes: IMAPFetchAttributes) -> [Action] {
        switch running {
        case .fetchInfo(let set, var found):
            // RFC 9051 section 6.4.9: each response to UID FETCH carries the UID; others are
            // unsolicited flag updates of other messages.
            guard let uid = attributes.uid, set.contains(uid) else { return [] }
            var merged = found[uid] ?? IMAPFetchAttributes(uid: uid)
            if let size = attributes.size { merged.size = size }
            if let date = attributes.internalDate { merged.internalDate = date }
            if let flags = attributes.flags { merged.flags = flags }
            found[uid] = merged
            running = .fetchInfo(set, found)
            return []
        case .fetchSize(let uid, let maxSize, _):
            guard attributes.uid == uid, let size = attributes.size else { return [] }
            running = .fetchSize(uid: uid, maxSize: maxSize, size: size)
            return []
        case .fetchBody(var body):
            guard let value = attributes.body else { return [] }
            if let uid = attributes.uid, uid != body.uid {
                return fatal(.protocolError("the body of UID \(uid) came for UID \(body.uid)"))
            }
            switch value {
            case .string(let octets):
                guard !body.sawBody else { return fatal(.protocolError("a second body for UID \(body.uid)")) }
                body.sawBody = true
                body.size = octets.count
                body.skipping = body.maxSize.map { octets.count > $0 } ?? false
                running = .fetchBody(body)
                return body.skipping ? [] : [.deliver(ByteBuffer(bytes: octets))]
            case .streamed(let size):
                guard body.sawBody, body.size == size, body.remaining == 0 else {
                    return fatal(.protocolError("a streamed body for UID \(body.uid) that did not arrive whole"))
                }
                return []
            case .nil:
                return []
            case .atom, .list:
                return fatal(.protocolError("the body of UID \(body.uid) is not a string"))
            }
        default:
            return []
        }
    }

    private mutating func literalStart(head: String, size: Int) -> [Action] {
        guard case .fetchBody(var body) = running, head.hasPrefix("* "), head.uppercased().contains(" FETCH (") else {
            return fatal(.protocolError("a literal of \(size) octets where no message was asked for: \(head)"))
        }
        if let uid = Self.uid(in: head), uid != body.uid {
            return fatal(.protocolError("the body of UID \(uid) came for UID \(body.uid)"))
        }
        guard !body.sawBody else { return fatal(.protocolError("a second body for UID \(body.uid)")) }
        body.sawBody = true
        body.size = size
        body.remaining = size
        body.skipping = body.maxSize.map { size > $0 } ?? false
        running = .fetchBody(body)
        return []
    }

    /// `UID n` in the start of a FETCH response, if there.
    static func uid(in head: String) -> UInt32? {
        let words = head.uppercased().split(whereSeparator: { $0 == " " || $0 == "(" })
        guard let index = words.firstIndex(of: "UID"), index + 1 < words.count else { return nil }
        return UInt32(words[index + 1])
    }

    // MARK: Tagged responses

    private mutating func completed(_ status: IMAPStatusResponse) -> [Action] {
        guard let operation = running else { return fatal(.protocolError("a tagged response while no command was running")) }
        running = nil
        let ok = status.status == .ok
        if ok, let code = status.code, code.name == "CAPABILITY" {
            capabilities = Set(code.arguments.compactMap { $0.text?.uppercased() })
        }
        switch operation {
        case .connectCapability:
            guard ok else { return fatal(.protocolError("CAPABILITY failed: \(status)")) }
            return afterCapabilities()
        case .startTLS:
            guard ok else { return fatal(.tlsFailed("the server refused STARTTLS: \(status)")) }
            stage = .tlsHandshake
            return [.startTLS]
        case .login, .sasl:
            guard ok else {
                stage = .notAuthenticated
                var text = status.codeAndText
                if case .sasl(_, _, _, let serverError?) = operation { text += " (\(serverError))" }
                return [.fail(.authenticationFailed(text.isEmpty ? "the server refused the credentials" : text))]
            }
            // RFC 9051 section 6.2.3: capabilities may change with authentication; asked again
            // unless the OK carried them.
            if status.code?.name == "CAPABILITY" {
                stage = .authenticated
                return [.succeed(.authenticated)]
            }
            return start(.authCapability, [.raw("CAPABILITY")])
        case .authCapability:
            stage = .authenticated
            return [.succeed(.authenticated)]
        case .logout:
            stage = .closed
            return [.succeed(.done), .close]
        default:
            guard ok else { return finish(.fail(.commandFailed(command: operation.name, response: status.description))) }
            return succeeded(operation, status)
        }
    }

    private mutating func succeeded(_ operation: Running, _ status: IMAPStatusResponse) -> [Action] {
        switch operation {
        case .capability:
            return finish(.succeed(.capabilities(capabilities)))
        case .noop, .store:
            return finish(.succeed(.done))
        case .append:
            // RFC 4315 section 3: OK [APPENDUID uidvalidity uid].
            guard let code = status.code, code.name == "APPENDUID", code.arguments.count >= 2 else {
                return finish(.succeed(.appended(uidValidity: nil, uid: nil)))
            }
            return finish(.succeed(.appended(uidValidity: code.arguments[0].number.flatMap { UInt32(exactly: $0) },
                                             uid: code.arguments[1].number.flatMap { UInt32(exactly: $0) })))
        case .list(let mailboxes):
            return finish(.succeed(.mailboxes(mailboxes)))
        case .select(let state):
            guard let uidValidity = state.uidValidity else {
                return finish(.fail(.protocolError("\(operation.name) \(state.name) gave no UIDVALIDITY")))
            }
            let readOnly = state.readOnly || status.code?.name == "READ-ONLY"
            let mailbox = IMAPMailboxStatus(
                name: state.name, uidValidity: uidValidity, uidNext: state.uidNext, exists: state.exists,
                highestModSeq: state.highestModSeq, flags: state.flags, readOnly: readOnly
            )
            selected = mailbox
            return finish(.succeed(.selected(mailbox)))
        case .search(let keys, let found):
            // `UID n:*` matches the last message even when its UID is below n (RFC 9051
            // section 6.4.9): only UIDs inside every UID set asked for are kept.
            let sets = keys.compactMap { key -> IMAPUIDSet? in
                if case .uid(let set) = key { return set }
                return nil
            }
            let uids = Set(found).filter { uid in sets.allSatisfy { $0.contains(uid) } }.sorted()
            return finish(.succeed(.uids(uids)))
        case .fetchInfo(_, let found):
            let messages = found.values.compactMap { attributes -> IMAPMessageInfo? in
                guard let uid = attributes.uid, let size = attributes.size else { return nil }
                return IMAPMessageInfo(uid: uid, size: size, internalDate: attributes.internalDate.flatMap(IMAPDate.internalDate), flags: attributes.flags ?? [])
            }.sorted { $0.uid < $1.uid }
            return finish(.succeed(.messages(messages)))
        case .fetchSize(let uid, let maxSize, let size):
            guard let size else { return finish(.succeed(.fetched(.notFound))) }
            if size > maxSize { return finish(.succeed(.fetched(.tooLarge(size: size)))) }
            return startBodyFetch(uid: uid, maxSize: maxSize)
        case .fetchBody(let body):
            guard body.sawBody else { return finish(.succeed(.fetched(.notFound))) }
            guard body.remaining == 0 else { return fatal(.protocolError("the body of UID \(body.uid) ended early")) }
            return finish(.succeed(.fetched(body.skipping ? .tooLarge(size: body.size) : .fetched(size: body.size))))
        case .move(let step, let uids, let mailbox):
            let set = IMAPUIDSet.uids(uids).wire
            switch step {
            case .move, .expunge:
                return finish(.succeed(.done))
            case .copy:
                return start(.move(.store, uids: uids, mailbox: mailbox), [.raw("UID STORE"), .raw(set), .raw("+FLAGS.SILENT (\\Deleted)")])
            case .store:
                return start(.move(.expunge, uids: uids, mailbox: mailbox), [.raw("UID EXPUNGE"), .raw(set)])
            }
        case .idle(_, let changed):
            return finish(.succeed(.idle(changed ? .mailboxChanged(exists: selected?.exists) : .timedOut)))
        default:
            return fatal(.protocolError("unexpected completion of \(operation.name)"))
        }
    }

    private mutating func finish(_ action: Action) -> [Action] {
        running = nil
        stage = resumeStage
        return [action]
    }

    private mutating func fatal(_ error: IMAPClientError) -> [Action] {
        stage = .closed
        running = nil
        pending = []
        return [.fail(error), .close]
    }
}

extension IMAPClientStateMachine: ConnectorStateMachine {
    static func failure(reading error: any Error) -> IMAPClientError { .sessionError(error) }
    static func closed(_ reason: String) -> IMAPClientError { .connectionClosed(reason) }

    static func trace(_ event: IMAPClientEvent) -> String? {
        switch event {
        case .response(let response), .streamedResponse(let response): String("\(response)".prefix(200))
        case .literalStart(let head, let size): "\(head) {\(size)}"
        case .literalChunk: nil
        case .tlsEstablished: "TLS established"
        case .idleTimerFired: "IDLE time passed"
        }
    }
}
