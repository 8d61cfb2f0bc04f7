import Logging
import NIOCore
import NIOSSL

/// What a connector's state machine answers with: the same for POP3 and IMAP.
public enum ConnectorAction<Command: Sendable & Equatable, Outcome: Sendable & Equatable, Failure: Error & Sendable & Equatable>: Sendable, Equatable {
    /// Send this command.
    case send(Command)
    /// Start the TLS handshake; the framer already discards what follows the server's OK.
    case startTLS
    /// A chunk of the message being fetched, for the caller's sink.
    case deliver(ByteBuffer)
    /// The server accepted IMAP IDLE and reports changes from now on (RFC 2177 section 3).
    case idling
    case succeed(Outcome)
    case fail(Failure)
    /// Close the connection.
    case close
}

/// A connector's state machine as its session drives it.
protocol ConnectorStateMachine {
    associatedtype Event: Sendable
    /// What goes out on the wire: a command (or a piece of one).
    associatedtype Outbound: Sendable & Equatable & CustomStringConvertible
    associatedtype Outcome: Sendable & Equatable
    associatedtype Failure: Error & Sendable & Equatable

    mutating func receive(_ event: Event) -> [ConnectorAction<Outbound, Outcome, Failure>]
    mutating func connectionClosed(_ error: Failure) -> [ConnectorAction<Outbound, Outcome, Failure>]
    mutating func tlsFailed(_ error: Failure) -> [ConnectorAction<Outbound, Outcome, Failure>]

    /// A failure read from the channel (a framing error, a TLS error, a reset).
    static func failure(reading error: any Error) -> Failure
    /// The connection is gone; why.
    static func closed(_ reason: String) -> Failure
    /// An event as traced, or nil for one not worth a line (message data).
    static func trace(_ event: Event) -> String?
}

/// Runs a connector's state machine on an open connection: performs its actions (send, start
/// TLS, hand message chunks to the caller's sink) and feeds it what the server sends, until
/// the operation succeeds or fails. One operation at a time; the sessions of both protocols
/// are thin fronts over it.
final class ConnectorSessionDriver<Machine: ConnectorStateMachine> {
    typealias Action = ConnectorAction<Machine.Outbound, Machine.Outcome, Machine.Failure>

    var machine: Machine
    private var inbound: NIOAsyncChannelInboundStream<Machine.Event>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<Machine.Outbound>
    private let channel: any Channel
    private let tlsContext: NIOSSLContext?
    private let host: String
    private let endpoint: String
    private let logger: Logger

    init(
        machine: Machine, channel: any Channel, inbound: NIOAsyncChannelInboundStream<Machine.Event>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<Machine.Outbound>, tlsContext: NIOSSLContext?, host: String, endpoint: String, logger: Logger
    ) {
        self.machine = machine
        self.channel = channel
        self.inbound = inbound
        self.outbound = outbound
        self.tlsContext = tlsContext
        self.host = host
        self.endpoint = endpoint
        self.logger = logger
    }

    /// Performs `actions` and what follows from them until one is `.succeed` or `.fail`. If
    /// `deliver` or `idling` throws, the connection is closed and the error rethrown.
    func run(
        _ actions: [Action], deliver: (ByteBuffer) async throws -> Void = { _ in }, idling: () async throws -> Void = {}
    ) async throws -> Machine.Outcome? {
        var actions = actions
        while true {
            var result: Result<Machine.Outcome?, Machine.Failure>?
            var next: [Action] = []
            for action in actions {
                switch action {
                case .send(let command):
                    logger.trace("C: \(command)")
                    do {
                        try await outbound.write(command)
                    } catch {
                        next += machine.connectionClosed(Machine.closed("cannot send \(command): \(error)"))
                    }
                case .startTLS:
                    do {
                        try await ConnectorTransport.startTLS(on: channel, context: tlsContext, host: host)
                    } catch {
                        next += machine.tlsFailed(Machine.failure(reading: error))
                    }
                case .deliver(let chunk):
                    do {
                        try await deliver(chunk)
                    } catch {
                        abandon("the message sink failed")
                        throw error
                    }
                case .idling:
                    do {
                        try await idling()
                    } catch {
                        abandon("the caller failed while idling")
                        throw error
                    }
                case .succeed(let outcome):
                    result = .success(outcome)
                case .fail(let error):
                    logger.debug("\(endpoint): \(error)")
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
                    if let line = Machine.trace(event) { logger.trace("S: \(line)") }
                    actions = machine.receive(event)
                } else {
                    actions = machine.connectionClosed(Machine.closed("the server closed the connection"))
                }
            } catch {
                actions = machine.connectionClosed(Machine.failure(reading: error))
            }
        }
    }

    /// The caller gave up in the middle of a response: the session cannot go on.
    private func abandon(_ reason: String) {
        _ = machine.connectionClosed(Machine.closed(reason))
        channel.close(promise: nil)
    }
}
