import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// An IMAP client over SwiftNIO for mailbox connectors: connects (implicit TLS, STARTTLS, or
/// none when configured so), then hands an `IMAPSession` to the caller's closure; the
/// connection is closed when the closure returns or throws.
///
/// A message is named for good by the mailbox's UIDVALIDITY and its UID (RFC 9051 section
/// 2.3.1.1); `IMAPSession.select` reports the one, the listing and search calls the other.
public struct IMAPClient: Sendable {
    public let configuration: IMAPConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger

    public init(configuration: IMAPConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger = Logger(label: "postgate.imap")) {
        self.configuration = configuration
        self.group = group
        self.logger = logger
    }

    /// Connects, reads the greeting and capabilities, starts TLS as configured, and runs
    /// `body` with the session, which is ready to authenticate.
    public func connect<Result: Sendable>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (IMAPSession) async throws -> Result
    ) async throws -> Result {
        let configuration = configuration
        let maxResponseLength = configuration.maxResponseLength
        let logger = logger
        return try await ConnectorTransport.open(
            configuration: configuration, group: group, failure: IMAPClientError.self,
            makeHandler: { IMAPClientHandler(framer: IMAPResponseFramer(maxResponseLength: maxResponseLength), responseTimeout: $0) }
        ) { (channel, inbound: NIOAsyncChannelInboundStream<IMAPClientEvent>.AsyncIterator, outbound: NIOAsyncChannelOutboundWriter<IMAPClientCommand>, tlsContext) in
            let session = IMAPSession(configuration: configuration, channel: channel, inbound: inbound, outbound: outbound, tlsContext: tlsContext, logger: logger)
            try await session.open()
            return try await body(session)
        }
    }
}

/// One IMAP session on an open connection. Its calls run one at a time, each waiting for the
/// server's tagged response; a NO or BAD throws `IMAPClientError.commandFailed` (or
/// `.authenticationFailed`) and the session goes on; any other error ends it.
public final class IMAPSession {
    /// The longest IDLE before it is ended and may be issued again: servers may drop a client
    /// idle for 30 minutes (RFC 2177 section 3, RFC 9051 section 5.4).
    public static let maxIdleSeconds: Double = 29 * 60

    public let configuration: IMAPConfiguration
    private let driver: ConnectorSessionDriver<IMAPClientStateMachine>

    init(
        configuration: IMAPConfiguration, channel: any Channel, inbound: NIOAsyncChannelInboundStream<IMAPClientEvent>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<IMAPClientCommand>, tlsContext: NIOSSLContext?, logger: Logger
    ) {
        self.configuration = configuration
        self.driver = ConnectorSessionDriver(
            machine: IMAPClientStateMachine(tlsMode: configuration.tls, allowPlaintextAuthentication: configuration.allowPlaintextAuthentication),
            channel: channel, inbound: inbound, outbound: outbound, tlsContext: tlsContext, host: configuration.host,
            endpoint: configuration.endpoint, logger: logger
        )
    }

    /// The server's capabilities, upper-cased, as last reported (after TLS and after login).
    public var capabilities: Set<String> { driver.machine.capabilities }
    /// True once the TLS handshake completed.
    public var isTLSActive: Bool { driver.machine.tlsActive }
    /// The selected mailbox, its message count kept current.
    public var selectedMailbox: IMAPMailboxStatus? { driver.machine.selected }

    func open() async throws {
        _ = try await driver.run([])
    }

    /// Authenticates (RFC 9051 sections 6.2.2 and 6.2.3); refused without TLS unless the
    /// configuration allows plaintext authentication.
    public func authenticate(_ credentials: IMAPCredentials) async throws {
        _ = try await driver.run(driver.machine.authenticate(credentials))
    }

    /// Asks the capabilities again (RFC 9051 section 6.1.1).
    @discardableResult
    public func capability() async throws -> Set<String> {
        guard case .capabilities(let names) = try await driver.run(driver.machine.command(.capability)) else { throw Self.noResult("CAPABILITY") }
        return names
    }

    /// The mailboxes matching `pattern` (RFC 9051 section 6.3.9), special uses included where
    /// the server has SPECIAL-USE (RFC 6154).
    public func list(reference: String = "", pattern: String = "*") async throws -> [IMAPMailbox] {
        guard case .mailboxes(let mailboxes) = try await driver.run(driver.machine.command(.list(reference: reference, pattern: pattern))) else {
            throw Self.noResult("LIST")
        }
        return mailboxes
    }

    /// Selects `mailbox` (its name as LIST gave it) for reading and changing (RFC 9051 section 6.3.2).
    public func select(_ mailbox: String) async throws -> IMAPMailboxStatus {
        guard case .selected(let status) = try await driver.run(driver.machine.command(.select(mailbox, readOnly: false))) else { throw Self.noResult("SELECT") }
        return status
    }

    /// Selects `mailbox` read-only (RFC 9051 section 6.3.3).
    public func examine(_ mailbox: String) async throws -> IMAPMailboxStatus {
        guard case .selected(let status) = try await driver.run(driver.machine.command(.select(mailbox, readOnly: true))) else { throw Self.noResult("EXAMINE") }
        return status
    }

    /// The UIDs of the messages matching every key, ascending (RFC 9051 section 6.4.4). UIDs
    /// outside a `.uid` key's set, which `n:*` can bring, are left out.
    public func uidSearch(_ keys: [IMAPSearchKey]) async throws -> [UInt32] {
        guard case .uids(let uids) = try await driver.run(driver.machine.command(.search(keys))) else { throw Self.noResult("UID SEARCH") }
        return uids
    }

    /// UID, size, internal date and flags of the messages in `uids`, ascending by UID (RFC 9051
    /// section 6.4.5); only messages inside the set.
    public func messageInfo(_ uids: IMAPUIDSet) async throws -> [IMAPMessageInfo] {
        guard case .messages(let messages) = try await driver.run(driver.machine.command(.fetchInfo(uids))) else { throw Self.noResult("UID FETCH") }
        return messages
    }

    /// Streams the message `uid` (BODY.PEEK[], so \Seen is not set) into `sink`, chunk by
    /// chunk as the server sends it; the next bytes are read only once `sink` returned. With
    /// `maxSize`, its RFC822.SIZE is asked first and a larger message is not fetched. If `sink`
    /// throws, the session ends and its error is rethrown.
    public func fetchMessage(uid: UInt32, maxSize: Int? = nil, into sink: (ByteBuffer) async throws -> Void) async throws -> IMAPFetchOutcome {
        guard case .fetched(let outcome) = try await driver.run(driver.machine.command(.fetchMessage(uid: uid, maxSize: maxSize)), deliver: sink) else {
            throw Self.noResult("UID FETCH")
        }
        return outcome
    }

    /// Adds `flags` (default `\Seen`) to the messages, silently (RFC 9051 section 6.4.6).
    public func addFlags(_ flags: [String] = ["\\Seen"], uids: [UInt32]) async throws {
        _ = try await driver.run(driver.machine.command(.addFlags(flags, uids: uids)))
    }

    /// Moves the messages to `mailbox`: UID MOVE (RFC 6851), or where the server lacks it, UID
    /// COPY, `\Deleted` and UID EXPUNGE of just these messages (UIDPLUS, RFC 4315).
    public func move(uids: [UInt32], to mailbox: String) async throws {
        _ = try await driver.run(driver.machine.command(.move(uids: uids, to: mailbox)))
    }

    /// IDLE (RFC 2177) on the selected mailbox until the server reports new or expunged
    /// messages, or `timeout` seconds pass (at most `maxIdleSeconds`); then DONE. `whenIdling`
    /// runs once the server accepted IDLE, so a change from then on ends it.
    public func idle(timeout: Double, whenIdling: () async throws -> Void = {}) async throws -> IMAPIdleOutcome {
        let seconds = min(max(timeout, 0), Self.maxIdleSeconds)
        guard case .idle(let outcome) = try await driver.run(driver.machine.command(.idle(seconds: seconds)), idling: whenIdling) else {
            throw Self.noResult("IDLE")
        }
        return outcome
    }

    /// Appends `message` (RFC 5322, CRLF line ends) to `mailbox` (its name as LIST gave it)
    /// with `flags` (RFC 9051 section 6.3.12); the literal waits for the server's
    /// continuation unless it has LITERAL+ (or LITERAL- and the message is at most 4096
    /// octets, RFC 7888). The new message's UIDVALIDITY and UID where the server reports them
    /// (APPENDUID, RFC 4315).
    @discardableResult
    public func append(mailbox: String, flags: [String] = ["\\Seen"], message: [UInt8]) async throws -> (uidValidity: UInt32?, uid: UInt32?) {
        guard case .appended(let uidValidity, let uid) = try await driver.run(driver.machine.command(.append(mailbox: mailbox, flags: flags, message: message))) else {
            throw Self.noResult("APPEND")
        }
        return (uidValidity, uid)
    }

    public func noop() async throws {
        _ = try await driver.run(driver.machine.command(.noop))
    }

    /// Ends the session (RFC 9051 section 6.1.3).
    public func logout() async throws {
        _ = try await driver.run(driver.machine.command(.logout))
    }

    private static func noResult(_ command: String) -> IMAPClientError {
        .protocolError("no result for \(command)")
    }
}
