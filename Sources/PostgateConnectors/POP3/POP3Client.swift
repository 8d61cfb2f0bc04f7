import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// A POP3 client over SwiftNIO: connects (implicit TLS or STLS), then hands a
/// `POP3Session` to the caller's closure; the connection is closed when the closure returns.
///
/// Deletions take effect only when `quit()` succeeds (RFC 1939 section 6): a session that
/// ends any other way leaves the mailbox as it was.
public struct POP3Client: Sendable {
    public let configuration: POP3Configuration
    private let group: any EventLoopGroup
    private let logger: Logger

    public init(configuration: POP3Configuration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger = Logger(label: "postgate.pop3")) {
        self.configuration = configuration
        self.group = group
        self.logger = logger
    }

    /// Connects, reads the greeting and capabilities, starts TLS as configured, and runs
    /// `body` with the session, which is ready to authenticate.
    public func connect<Result: Sendable>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (POP3Session) async throws -> Result
    ) async throws -> Result {
        let configuration = configuration
        let logger = logger
        return try await ConnectorTransport.open(
            configuration: configuration, group: group, failure: POP3Error.self,
            makeHandler: { POP3ClientHandler(responseTimeout: $0) }
        ) { (channel, inbound: NIOAsyncChannelInboundStream<POP3ResponseEvent>.AsyncIterator, outbound: NIOAsyncChannelOutboundWriter<POP3Command>, tlsContext) in
            let session = POP3Session(configuration: configuration, channel: channel, inbound: inbound, outbound: outbound, tlsContext: tlsContext, logger: logger)
            try await session.open()
            return try await body(session)
        }
    }
}

/// One POP3 session on an open connection. Its calls run one at a time, each waiting for
/// the server's response; a `-ERR` to a command throws `POP3Error.commandFailed` and the
/// session goes on; any other error ends it.
public final class POP3Session {
    public let configuration: POP3Configuration
    private let driver: ConnectorSessionDriver<POP3ClientStateMachine>

    init(
        configuration: POP3Configuration, channel: any Channel, inbound: NIOAsyncChannelInboundStream<POP3ResponseEvent>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<POP3Command>, tlsContext: NIOSSLContext?, logger: Logger
    ) {
        self.configuration = configuration
        self.driver = ConnectorSessionDriver(
            machine: POP3ClientStateMachine(
                tlsMode: configuration.tls, allowPlaintextAuthentication: configuration.allowPlaintextAuthentication,
                serverHost: configuration.host, serverPort: configuration.port),
            channel: channel, inbound: inbound, outbound: outbound, tlsContext: tlsContext, host: configuration.host,
            endpoint: configuration.endpoint, logger: logger
        )
    }

    /// The server's capabilities (RFC 2449), as learned after TLS; nil if it has no CAPA.
    public var capabilities: [String: [String]]? { driver.machine.capabilities }
    /// True once the TLS handshake completed.
    public var isTLSActive: Bool { driver.machine.tlsActive }

    func open() async throws {
        _ = try await driver.run([])
    }

    public func authenticate(_ credentials: POP3Credentials) async throws {
        _ = try await driver.run(driver.machine.authenticate(credentials))
    }

    /// The number of messages and their total size in octets (RFC 1939 section 5).
    public func stat() async throws -> (count: Int, size: Int) {
        guard case .stat(let count, let size) = try await driver.run(driver.machine.command(.stat)) else { throw POP3Error.protocolError("no STAT result") }
        return (count, size)
    }

    /// Every message's number and unique id (RFC 1939 section 7).
    public func uidl() async throws -> [POP3UniqueID] {
        guard case .uidl(let ids) = try await driver.run(driver.machine.command(.uidl)) else { throw POP3Error.protocolError("no UIDL result") }
        return ids
    }

    /// Every message's number and size (RFC 1939 section 5).
    public func list() async throws -> [POP3ListEntry] {
        guard case .list(let entries) = try await driver.run(driver.machine.command(.list)) else { throw POP3Error.protocolError("no LIST result") }
        return entries
    }

    /// Streams message `number` into `sink`, chunk by chunk, as the server sends it (dots
    /// unstuffed, CRLFs kept); the next bytes are read only once `sink` returned. If `sink`
    /// throws, the session ends and its error is rethrown.
    public func retrieve(_ number: Int, into sink: (ByteBuffer) async throws -> Void) async throws {
        _ = try await driver.run(driver.machine.command(.retrieve(number)), deliver: sink)
    }

    /// Marks message `number` deleted; it is removed when `quit()` succeeds.
    public func delete(_ number: Int) async throws {
        _ = try await driver.run(driver.machine.command(.delete(number)))
    }

    public func noop() async throws {
        _ = try await driver.run(driver.machine.command(.noop))
    }

    /// Unmarks every message marked deleted in this session (RFC 1939 section 5).
    public func reset() async throws {
        _ = try await driver.run(driver.machine.command(.reset))
    }

    /// Ends the session; the server then removes the messages marked deleted (RFC 1939 section 6).
    public func quit() async throws {
        _ = try await driver.run(driver.machine.command(.quit))
    }
}
