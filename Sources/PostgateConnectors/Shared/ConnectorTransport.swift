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

/// How a mailbox connector's connection is secured.
public enum ConnectorTLSMode: Sendable, Equatable {
    /// TLS from the first byte (RFC 8314 section 3.3): POP3 on port 995, IMAP on port 993.
    case implicit
    /// Plain text, then the protocol's upgrade: STLS for POP3 (RFC 2595 section 4), STARTTLS
    /// for IMAP (RFC 9051 section 6.2.1). Required: a server that does not offer or refuses
    /// the upgrade fails the connection.
    case startTLS
    /// No TLS (tests, loopback); only when configured so. Credentials are then sent only if
    /// plaintext authentication is explicitly allowed.
    case none
}

/// Why a connection could not be made, before any protocol was spoken.
enum ConnectorConnectFailure: Equatable {
    /// Nothing accepts connections at the address (ECONNREFUSED).
    case refused
    /// The connect timeout passed.
    case timedOut
    /// Name resolution, an unreachable network, anything else: the error's text.
    case other(String)
}

/// Why TLS failed, read from a NIOSSL error.
enum ConnectorTLSFailure: Equatable {
    /// The server's certificate is not trusted: unknown issuer, self-signed, wrong name, expired.
    case untrusted(String)
    /// Any other TLS failure: the handshake, the TLS material.
    case failed(String)
}

/// What the mailbox connectors share about their connections: the TLS context, the name sent
/// for SNI and checked against the certificate, the bootstrap with its connect timeout, the
/// STARTTLS/STLS upgrade, and the reading of connect and TLS failures. Each protocol maps the
/// failures to its own error type.
enum ConnectorTransport {
    /// The client TLS context: full verification (chain and host name, RFC 6125) against
    /// `caCertificateFile` (PEM roots of a private CA) or the system's roots; nil when `mode`
    /// is `.none`.
    static func makeTLSContext(mode: ConnectorTLSMode, caCertificateFile: String?) throws(ConnectorTLSFailure) -> NIOSSLContext? {
        guard mode != .none else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        if let caCertificateFile { tls.trustRoots = .file(caCertificateFile) }
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw .failed("cannot set up TLS (CA file \(caCertificateFile ?? "none")): \(error)")
        }
    }

    /// The name for SNI and the certificate check; nil for an IP address (RFC 6066 section 3:
    /// literal addresses are not sent as a server name; the address is checked instead).
    static func serverName(for host: String) -> String? {
        isIPAddress(host) ? nil : host
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    static func timeAmount(seconds: Double) -> TimeAmount {
        .nanoseconds(Int64(max(0, seconds) * 1e9))
    }

    /// Connects to `address` (or `host`) and `port`; with implicit TLS the TLS handler goes
    /// first, then the protocol's handler, and the channel is wrapped for async use.
    static func connect<Inbound: Sendable, Outbound: Sendable>(
        group: any EventLoopGroup, host: String, address: String?, port: Int, connectTimeout: Double,
        implicitTLS: NIOSSLContext?, makeHandler: @escaping @Sendable () -> any ChannelHandler
    ) async throws(ConnectorConnectFailure) -> NIOAsyncChannel<Inbound, Outbound> {
        let serverName = serverName(for: host)
        do {
            return try await ClientBootstrap(group: group)
                .connectTimeout(timeAmount(seconds: connectTimeout))
                .connect(host: address ?? host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let implicitTLS {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: implicitTLS, serverHostname: serverName))
                        }
                        try channel.pipeline.syncOperations.addHandler(makeHandler())
                        return try NIOAsyncChannel<Inbound, Outbound>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw connectFailure(error)
        }
    }

    /// Puts a TLS handler in front of the pipeline (after STLS or STARTTLS was accepted); the
    /// handshake's completion arrives as a `TLSUserEvent`.
    static func startTLS(on channel: any Channel, context: NIOSSLContext?, host: String) async throws {
        guard let context else { throw ConnectorTLSFailure.failed("no TLS configuration") }
        let serverName = serverName(for: host)
        try await channel.eventLoop.submit {
            let handler = try NIOSSLClientHandler(context: context, serverHostname: serverName)
            try channel.pipeline.syncOperations.addHandler(handler, position: .first)
        }.get()
    }

    static func connectFailure(_ error: any Error) -> ConnectorConnectFailure {
        if isConnectTimeout(error) { return .timedOut }
        if let error = error as? NIOConnectionError {
            let refused = !error.connectionErrors.isEmpty && error.connectionErrors.allSatisfy { ($0.error as? IOError)?.errnoCode == ECONNREFUSED }
            if refused { return .refused }
            if error.connectionErrors.contains(where: { isConnectTimeout($0.error) }) { return .timedOut }
        }
        if let error = error as? IOError, error.errnoCode == ECONNREFUSED { return .refused }
        return .other("\(error)")
    }

    private static func isConnectTimeout(_ error: any Error) -> Bool {
        guard let error = error as? ChannelError, case .connectTimeout = error else { return false }
        return true
    }

    /// The TLS failure in `error`, or nil when it is not a TLS error.
    static func tlsFailure(_ error: any Error) -> ConnectorTLSFailure? {
        if let error = error as? ConnectorTLSFailure { return error }
        if let error = error as? NIOSSLExtraError, error == .failedToValidateHostname {
            return .untrusted("\(error)")
        }
        if let error = error as? NIOSSLError {
            let text = "\(error)"
            let untrusted = ["CERTIFICATE_VERIFY_FAILED", "certificate verify failed", "unable to get local issuer", "self signed", "self-signed"]
            if untrusted.contains(where: { text.localizedCaseInsensitiveContains($0) }) { return .untrusted(text) }
            return .failed(text)
        }
        if let error = error as? NIOSSLExtraError { return .failed("\(error)") }
        return nil
    }
}

extension ConnectorTLSFailure: Error {}
extension ConnectorConnectFailure: Error {}

/// Where and how a mailbox connector reaches its server: what the IMAP and POP3
/// configurations share.
public protocol ConnectorEndpointConfiguration: Sendable {
    var host: String { get }
    var address: String? { get }
    var port: Int { get }
    var tls: ConnectorTLSMode { get }
    var caCertificateFile: String? { get }
    var connectTimeout: Double { get }
    var responseTimeout: Double { get }
    var endpoint: String { get }
}

extension IMAPConfiguration: ConnectorEndpointConfiguration {}
extension POP3Configuration: ConnectorEndpointConfiguration {}

/// The errors of a connector protocol that a connection can end in before or outside any
/// command: the IMAP and POP3 error types, each with its own words.
protocol ConnectorClientError: Error {
    static func connectionRefused(_ endpoint: String) -> Self
    static func connectionFailed(_ text: String) -> Self
    static func connectionClosed(_ text: String) -> Self
    static func tlsUntrusted(_ text: String) -> Self
    static func tlsFailed(_ text: String) -> Self
    static func timeout(_ text: String) -> Self
}

extension ConnectorClientError {
    static func tlsError(_ failure: ConnectorTLSFailure) -> Self {
        switch failure {
        case .untrusted(let text): .tlsUntrusted(text)
        case .failed(let text): .tlsFailed(text)
        }
    }

    static func connectError(_ failure: ConnectorConnectFailure, configuration: some ConnectorEndpointConfiguration) -> Self {
        switch failure {
        case .refused: .connectionRefused(configuration.endpoint)
        case .timedOut: .timeout("connecting to \(configuration.endpoint) after \(configuration.connectTimeout) seconds")
        case .other(let text): .connectionFailed("\(configuration.endpoint): \(text)")
        }
    }

    /// A failure read from the channel, as this protocol's error.
    static func sessionError(_ error: any Error) -> Self {
        if let error = error as? Self { return error }
        if let failure = ConnectorTransport.tlsFailure(error) { return tlsError(failure) }
        return .connectionClosed("\(error)")
    }
}

extension IMAPClientError: ConnectorClientError {}
extension POP3Error: ConnectorClientError {}

extension ConnectorTransport {
    /// Opens a connector's connection as `configuration` says (TLS context, connect, the
    /// protocol's handler made with the response timeout), runs `body` with the channel's
    /// streams and the TLS context (for a later STARTTLS/STLS), and closes the connection
    /// when `body` returns or throws. Connect and TLS failures are thrown as `Failure`.
    static func open<Inbound: Sendable, Outbound: Sendable, Failure: ConnectorClientError, Result: Sendable>(
        isolation: isolated (any Actor)? = #isolation,
        configuration: some ConnectorEndpointConfiguration, group: any EventLoopGroup, failure: Failure.Type,
        makeHandler: @escaping @Sendable (_ responseTimeout: TimeAmount) -> any ChannelHandler,
        _ body: (
            _ channel: any Channel, _ inbound: NIOAsyncChannelInboundStream<Inbound>.AsyncIterator,
            _ outbound: NIOAsyncChannelOutboundWriter<Outbound>, _ tlsContext: NIOSSLContext?
        ) async throws -> Result
    ) async throws -> Result {
        let tlsContext: NIOSSLContext?
        do {
            tlsContext = try makeTLSContext(mode: configuration.tls, caCertificateFile: configuration.caCertificateFile)
        } catch {
            throw Failure.tlsError(error)
        }
        let responseTimeout = timeAmount(seconds: configuration.responseTimeout)
        let channel: NIOAsyncChannel<Inbound, Outbound>
        do {
            channel = try await connect(
                group: group, host: configuration.host, address: configuration.address, port: configuration.port,
                connectTimeout: configuration.connectTimeout, implicitTLS: configuration.tls == .implicit ? tlsContext : nil,
                makeHandler: { makeHandler(responseTimeout) }
            )
        } catch {
            throw Failure.connectError(error, configuration: configuration)
        }
        return try await channel.executeThenClose { inbound, outbound in
            try await body(channel.channel, inbound.makeAsyncIterator(), outbound, tlsContext)
        }
    }
}
