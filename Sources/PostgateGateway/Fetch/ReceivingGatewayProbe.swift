import Foundation
import Logging
import NIOCore
import PostgateConnectors
import PostgateDirectory

/// One step of a gateway test and how it went.
public struct GatewayProbeStep: Sendable, Equatable, Codable {
    public var step: String
    public var ok: Bool
    /// What was found (the folders, the message count), or the error in one line.
    public var detail: String
    public var milliseconds: Int

    public init(step: String, ok: Bool, detail: String, milliseconds: Int) {
        self.step = step
        self.ok = ok
        self.detail = detail
        self.milliseconds = milliseconds
    }
}

/// `postgate connector test` for a receiving gateway: obtains the credential (the token
/// for OAuth 2.0), connects and negotiates TLS, authenticates, then lists the folders
/// (IMAP, and checks the mapped ones exist) or counts the messages (POP3). It stops at the
/// first failed step; nothing is fetched or changed on the server.
public struct ReceivingGatewayProbe: Sendable {
    public let gateway: ReceivingGateway
    public let credentials: any GatewayCredentialSource
    public let eventLoopGroup: any EventLoopGroup
    public let logger: Logger

    public init(gateway: ReceivingGateway, credentials: any GatewayCredentialSource, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.gateway = gateway
        self.credentials = credentials
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// The steps run, the last one failed if any did.
    public func run() async -> [GatewayProbeStep] {
        var steps: [GatewayProbeStep] = []
        let settings = gateway.settings
        let credentialStep = settings.auth == .oauth2 ? "obtain access token" : "open stored password"
        guard let credential = await step(credentialStep, into: &steps, { () async throws -> (GatewayCredential, String) in
            let credential = try await credentials.credential(for: gateway)
            return (credential, settings.auth == .oauth2 ? "token endpoint answered" : "password decrypted")
        }) else { return steps }
        if settings.kind == .graph, settings.group != nil {
            let group = ReceivingGatewayFetcher.graphGroup(of: gateway, credentials: credentials)
            return steps + (await GraphGatewayProbe.groupSteps(group))
        }
        if settings.kind == .graph {
            let mailbox = Self.graphMailbox(of: gateway, credentials: credentials)
            return steps + (await GraphGatewayProbe(mailbox: mailbox).receivingSteps(settings))
        }
        let timeout = Double(settings.connectionTimeoutMS) / 1000
        let endpoint = "\(settings.host):\(settings.port ?? Self.defaultPort(settings))"
        let user = settings.username
        do {
            switch settings.kind {
            case .imap:
                let client = IMAPClient(configuration: IMAPConfiguration(
                    host: settings.host, port: settings.port, tls: settings.tls.connectorMode, caCertificateFile: settings.caFile,
                    allowPlaintextAuthentication: settings.allowPlaintext, connectTimeout: timeout, responseTimeout: timeout),
                    group: eventLoopGroup, logger: logger)
                let started = Date()
                try await client.connect { session in
                    await sessionSteps(
                        endpoint: endpoint, user: user, tlsActive: session.isTLSActive, since: started, into: &steps,
                        authenticate: { try await session.authenticate(credential.imap(user: user)) },
                        last: "list folders", { () async throws -> String in
                            let names = try await session.list().map(\.name)
                            let missing = settings.syncAllFolders ? [] : settings.folders.filter { wanted in
                                !names.contains { $0 == wanted || (wanted.uppercased() == "INBOX" && $0.uppercased() == "INBOX") }
                            }
                            guard missing.isEmpty else {
                                throw FetchError("no folder \(missing.joined(separator: ", ")) on the server; it has \(names.joined(separator: ", "))")
                            }
                            return names.joined(separator: ", ")
                        },
                        close: { try await session.logout() })
                }
            case .pop3:
                let client = POP3Client(configuration: POP3Configuration(
                    host: settings.host, port: settings.port, tls: settings.tls.connectorMode, caCertificateFile: settings.caFile,
                    allowPlaintextAuthentication: settings.allowPlaintext, connectTimeout: timeout, responseTimeout: timeout),
                    group: eventLoopGroup, logger: logger)
                let started = Date()
                try await client.connect { session in
                    await sessionSteps(
                        endpoint: endpoint, user: user, tlsActive: session.isTLSActive, since: started, into: &steps,
                        authenticate: { try await session.authenticate(credential.pop3(user: user)) },
                        last: "count messages", { () async throws -> String in
                            let (count, size) = try await session.stat()
                            return "\(count) messages, \(size) bytes"
                        },
                        close: { try await session.quit() })
                }
            case .graph:
                break
            }
        } catch {
            // The connection itself failed (refused, TLS, timeout) before any step inside it.
            if !steps.contains(where: { $0.step == "connect" }) {
                steps.append(GatewayProbeStep(step: "connect", ok: false, detail: "\(endpoint): \(ReceivingGatewayFetcher.oneLine(error))", milliseconds: 0))
            }
        }
        return steps
    }

    /// The steps inside an open connection, the same for each protocol: connected,
    /// authenticated, then the protocol's look at the mailbox; the session is ended politely.
    private func sessionSteps(
        endpoint: String, user: String, tlsActive: Bool, since started: Date, into steps: inout [GatewayProbeStep],
        authenticate: () async throws -> Void, last name: String, _ look: () async throws -> String,
        close: () async throws -> Void
    ) async {
        steps.append(Self.done("connect", "\(endpoint), TLS \(tlsActive ? "active" : "not used")", since: started))
        guard await step("authenticate", into: &steps, { () async throws -> ((), String) in
            try await authenticate()
            return ((), "as \(user)")
        }) != nil else { return }
        _ = await step(name, into: &steps, { () async throws -> ((), String) in ((), try await look()) })
        do {
            try await close()
        } catch {
            logger.debug("ending the test session: \(ReceivingGatewayFetcher.oneLine(error))")
        }
    }

    private func step<T>(_ name: String, into steps: inout [GatewayProbeStep],
                         _ body: () async throws -> (T, String)) async -> T? {
        let started = Date()
        do {
            let (value, detail) = try await body()
            steps.append(Self.done(name, detail, since: started))
            return value
        } catch {
            steps.append(GatewayProbeStep(step: name, ok: false, detail: ReceivingGatewayFetcher.oneLine(error),
                                          milliseconds: Self.milliseconds(since: started)))
            return nil
        }
    }

    private static func done(_ name: String, _ detail: String, since started: Date) -> GatewayProbeStep {
        GatewayProbeStep(step: name, ok: true, detail: detail, milliseconds: milliseconds(since: started))
    }

    private static func milliseconds(since started: Date) -> Int {
        Int((Date().timeIntervalSince(started) * 1000).rounded())
    }

    /// A Graph receiving gateway's mailbox, with its credentials.
    public static func graphMailbox(of gateway: ReceivingGateway, credentials: any GatewayCredentialSource) -> GraphMailbox {
        ReceivingGatewayFetcher.graphMailbox(of: gateway, credentials: credentials)
    }

    static func defaultPort(_ settings: ReceivingGatewaySettings) -> Int {
        switch (settings.kind, settings.tls) {
        case (.imap, .implicit): 993
        case (.imap, _): 143
        case (.pop3, .implicit): 995
        case (.pop3, _): 110
        case (.graph, _): 443
        }
    }
}

extension GatewayCredential {
    func imap(user: String) -> IMAPCredentials {
        switch self {
        case .password(let password): .password(user: user, password: password)
        case .bearer(let token, .xoauth2): .xoauth2(user: user, token: token)
        case .bearer(let token, .oauthbearer): .oauthBearer(user: user, token: token)
        }
    }

    func pop3(user: String) -> POP3Credentials {
        switch self {
        case .password(let password): .password(user: user, password: password)
        case .bearer(let token, .xoauth2): .xoauth2(user: user, token: token)
        case .bearer(let token, .oauthbearer): .oauthBearer(user: user, token: token)
        }
    }
}
