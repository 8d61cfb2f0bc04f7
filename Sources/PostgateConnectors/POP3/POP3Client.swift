import Logging
import NIOCore
import NIOPosix
import NIOSSL

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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
        let tlsContext = try makeTLSContext()
        let serverName = Self.isIPAddress(configuration.host) ? nil : configuration.host
        let responseTimeout = TimeAmount.nanoseconds(Int64(configuration.responseTimeout * 1e9))
        let channel: NIOAsyncChannel<POP3ResponseEvent, POP3Command>
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.nanoseconds(Int64(configuration.connectTimeout * 1e9)))
                .connect(host: configuration.address ?? configuration.host, port: configuration.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if configuration.tls == .implicit, let tlsContext {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tlsContext, serverHostname: serverName))
                        }
                        try channel.pipeline.syncOperations.addHandler(POP3ClientHandler(responseTimeout: responseTimeout))
                        return try NIOAsyncChannel<POP3ResponseEvent, POP3Command>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw Self.connectError(error, configuration: configuration)
        }
        let logger = logger
        return try await channel.executeThenClose { inbound, outbound in
            let session = POP3Session(
                configuration: configuration, channel: channel.channel, inbound: inbound.makeAsyncIterator(), outbound: outbound,
                tlsContext: tlsContext, serverName: serverName, logger: logger
            )
            try await session.open()
            return try await body(session)
        }
    }

    private func makeTLSContext() throws(POP3Error) -> NIOSSLContext? {
        guard configuration.tls != .none else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        if let file = configuration.caCertificateFile { tls.trustRoots = .file(file) }
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw .tlsFailed("cannot set up TLS (CA file \(configuration.caCertificateFile ?? "none")): \(error)")
        }
    }

    static func connectError(_ error: any Error, configuration: POP3Configuration) -> POP3Error {
        let endpoint = configuration.endpoint
        if isConnectTimeout(error) {
            return .timeout("connecting to \(endpoint) took more than \(configuration.connectTimeout) seconds")
        }
        if let error = error as? NIOConnectionError {
            let refused = !error.connectionErrors.isEmpty && error.connectionErrors.allSatisfy { ($0.error as? IOError)?.errnoCode == ECONNREFUSED }
            if refused { return .connectionRefused(endpoint) }
            if error.connectionErrors.contains(where: { isConnectTimeout($0.error) }) {
                return .timeout("connecting to \(endpoint) took more than \(configuration.connectTimeout) seconds")
            }
        }
        if let error = error as? IOError, error.errnoCode == ECONNREFUSED { return .connectionRefused(endpoint) }
        return .connectionFailed("\(endpoint): \(error)")
    }

    private static func isConnectTimeout(_ error: any Error) -> Bool {
        guard let error = error as? ChannelError, case .connectTimeout = error else { return false }
        return true
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}

/// One POP3 session on an open connection. Its calls run one at a time, each waiting for
/// the server's response; a `-ERR` to a command throws `POP3Error.commandFailed` and the
/// session goes on; any other error ends it.
public final class POP3Session {
    public let configuration: POP3Configuration
    private var machine: POP3ClientStateMachine
    private var inbound: NIOAsyncChannelInboundStream<POP3ResponseEvent>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<POP3Command>
    private let channel: any Channel
    private let tlsContext: NIOSSLContext?
    private let serverName: String?
    private let logger: Logger

    init(
        configuration: POP3Configuration, channel: any Channel, inbound: NIOAsyncChannelInboundStream<POP3ResponseEvent>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<POP3Command>, tlsContext: NIOSSLContext?, serverName: String?, logger: Logger
    ) {
        self.configuration = configuration
        self.machine = POP3ClientStateMachine(
            tlsMode: configuration.tls, allowPlaintextAuthentication: configuration.allowPlaintextAuthentication,
            serverHost: configuration.host, serverPort: configuration.port)
        self.channel = channel
        self.inbound = inbound
        self.outbound = outbound
        self.tlsContext = tlsContext
        self.serverName = serverName
        self.logger = logger
    }

    /// The server's capabilities (RFC 2449), as learned after TLS; nil if it has no CAPA.
    public var capabilities: [String: [String]]? { machine.capabilities }
    /// True once the TLS handshake completed.
    public var isTLSActive: Bool { machine.tlsActive }

    func open() async throws {
        _ = try await run([])
    }

    public func authenticate(_ credentials: POP3Credentials) async throws {
        _ = try await run(machine.authenticate(credentials))
    }

    /// The number of messages and their total size in octets (RFC 1939 section 5).
    public func stat() async throws -> (count: Int, size: Int) {
        guard case .stat(let count, let size) = try await run(machine.command(.stat)) else { throw POP3Error.protocolError("no STAT result") }
        return (count, size)
    }

    /// Every message's number and unique id (RFC 1939 section 7).
    public func uidl() async throws -> [POP3UniqueID] {
        guard case .uidl(let ids) = try await run(machine.command(.uidl)) else { throw POP3Error.protocolError("no UIDL result") }
        return ids
    }

    /// Every message's number and size (RFC 1939 section 5).
    public func list() async throws -> [POP3ListEntry] {
        guard case .list(let entries) = try await run(machine.command(.list)) else { throw POP3Error.protocolError("no LIST result") }
        return entries
    }

    /// Streams message `number` into `sink`, chunk by chunk, as the server sends it (dots
    /// unstuffed, CRLFs kept); the next bytes are read only once `sink` returned. If `sink`
    /// throws, the session ends and its error is rethrown.
    public func retrieve(_ number: Int, into sink: (ByteBuffer) async throws -> Void) async throws {
        _ = try await run(machine.command(.retrieve(number)), deliver: sink)
    }

    /// Marks message `number` deleted; it is removed when `quit()` succeeds.
    public func delete(_ number: Int) async throws {
        _ = try await run(machine.command(.delete(number)))
    }

    public func noop() async throws {
        _ = try await run(machine.command(.noop))
    }

    /// Unmarks every message marked deleted in this session (RFC 1939 section 5).
    public func reset() async throws {
        _ = try await run(machine.command(.reset))
    }

    /// Ends the session; the server then removes the messages marked deleted (RFC 1939 section 6).
    public func quit() async throws {
        _ = try await run(machine.command(.quit))
    }

    // MARK: Driving the state machine

    private func run(
        _ actions: [POP3ClientStateMachine.Action], deliver: (ByteBuffer) async throws -> Void = { _ in }
    ) async throws -> POP3ClientStateMachine.Outcome? {
        var actions = actions
        while true {
            var result: Result<POP3ClientStateMachine.Outcome?, POP3Error>?
            var next: [POP3ClientStateMachine.Action] = []
            for action in actions {
                switch action {
                case .send(let command):
                    logger.trace("C: \(command)")
                    do {
                        try await outbound.write(command)
                    } catch {
                        next += machine.connectionClosed(.connectionClosed("cannot send \(command): \(error)"))
                    }
                case .startTLS:
                    do {
                        try await startTLS()
                    } catch {
                        next += machine.tlsFailed(.tlsFailed("\(error)"))
                    }
                case .deliver(let chunk):
                    do {
                        try await deliver(chunk)
                    } catch {
                        _ = machine.connectionClosed(.connectionClosed("the message sink failed"))
                        channel.close(promise: nil)
                        throw error
                    }
                case .succeed(let outcome):
                    result = .success(outcome)
                case .fail(let error):
                    logger.debug("POP3 \(configuration.endpoint): \(error)")
                    result = .failure(error)
                case .close:
                    channel.close(promise: nil)
                }
            }
            if let result { return try result.get() }
            if !next.isEmpty {
                actions = next
                continue
            }
            do {
                if let event = try await inbound.next(isolation: #isolation) {
                    if case .messageChunk = event {} else { logger.trace("S: \(event)") }
                    actions = machine.receive(event)
                } else {
                    actions = machine.connectionClosed(.connectionClosed("the server closed the connection"))
                }
            } catch {
                actions = machine.connectionClosed(Self.sessionError(error))
            }
        }
    }

    private func startTLS() async throws {
        guard let tlsContext else { throw POP3Error.tlsFailed("no TLS configuration") }
        let serverName = serverName
        let channel = channel
        try await channel.eventLoop.submit {
            let handler = try NIOSSLClientHandler(context: tlsContext, serverHostname: serverName)
            try channel.pipeline.syncOperations.addHandler(handler, position: .first)
        }.get()
    }

    /// A failure read from the channel, as a `POP3Error`.
    static func sessionError(_ error: any Error) -> POP3Error {
        if let error = error as? POP3Error { return error }
        if let error = error as? NIOSSLExtraError, error == .failedToValidateHostname {
            return .tlsUntrusted("\(error)")
        }
        if let error = error as? NIOSSLError {
            let text = "\(error)"
            let untrusted = ["CERTIFICATE_VERIFY_FAILED", "certificate verify failed", "unable to get local issuer", "self signed", "self-signed"]
            if untrusted.contains(where: { text.localizedCaseInsensitiveContains($0) }) { return .tlsUntrusted(text) }
            return .tlsFailed(text)
        }
        if let error = error as? NIOSSLExtraError { return .tlsFailed("\(error)") }
        return .connectionClosed("\(error)")
    }
}
