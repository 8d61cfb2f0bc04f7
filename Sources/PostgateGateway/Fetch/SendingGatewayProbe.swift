import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgateBlocking
import PostgateConnectors
import PostgateDirectory
import PostgateMessage
import PostgateOutbound

/// `postgate connector test` for a sending gateway: obtains the credential (the token for
/// OAuth 2.0), then tests the submission server without sending (connect, EHLO, STARTTLS,
/// AUTH, QUIT; `SMTPClient.probe`). With `sendTo`, it then sends a short test message from
/// the channel address to that address through the same server, as a reply would go.
/// It stops at the first failed step.
public struct SendingGatewayProbe: Sendable {
    public let address: EmailAddress
    public let settings: SendingGatewaySettings
    public let credentials: any SendingCredentialSource
    public let client: SMTPClient
    public let threadPool: NIOThreadPool
    /// Where the test message goes; nil sends none.
    public let sendTo: EmailAddress?
    private let now: @Sendable () -> Date

    /// - Parameter clientConfiguration: the gateway's SMTP client settings
    ///   (`GatewayConfiguration.smtpClientConfiguration`); the gateway's connection timeout
    ///   replaces its timeouts.
    public init(address: EmailAddress, settings: SendingGatewaySettings, credentials: any SendingCredentialSource,
                clientConfiguration: SMTPClientConfiguration, eventLoopGroup: any EventLoopGroup, threadPool: NIOThreadPool,
                sendTo: EmailAddress? = nil, logger: Logger, now: @escaping @Sendable () -> Date = Date.init) {
        var configuration = clientConfiguration
        configuration.timeouts = SMTPClientTimeouts(all: Double(settings.connectionTimeoutMS) / 1000)
        self.address = address
        self.settings = settings
        self.credentials = credentials
        self.client = SMTPClient(configuration: configuration, group: eventLoopGroup, threadPool: threadPool, logger: logger)
        self.threadPool = threadPool
        self.sendTo = sendTo
        self.now = now
    }

    /// The steps run, the last one failed if any did.
    public func run() async -> [GatewayProbeStep] {
        if settings.kind == .graph { return await runGraph() }
        var steps: [GatewayProbeStep] = []
        var started = Date()
        let smtpCredentials: SMTPCredentials
        do {
            smtpCredentials = try await credentials.smtpCredentials(address: address, settings: settings)
            steps.append(step(credentialStep, true, settings.auth == .oauth2 ? "token endpoint answered" : "password decrypted", since: started))
        } catch {
            steps.append(step(credentialStep, false, ReceivingGatewayFetcher.oneLine(error), since: started))
            return steps
        }
        let endpoint = Gateway.sendingEndpoint(settings: settings, credentials: smtpCredentials)
        started = Date()
        let session = await client.probe(endpoint)
        // The server's steps share the session's time; the last one carries it.
        for (index, probed) in session.enumerated() {
            steps.append(step(probed.name, probed.ok, Self.oneLine(probed.detail), since: index == session.count - 1 ? started : nil))
        }
        guard session.allSatisfy(\.ok), let sendTo else { return steps }
        started = Date()
        let (ok, detail) = await sendTestMessage(to: sendTo, endpoint: endpoint)
        steps.append(step("send test message", ok, detail, since: started))
        return steps
    }

    /// Graph: the token and its permission, the mailbox, and with `sendTo` a test message
    /// through `sendMail`.
    private func runGraph() async -> [GatewayProbeStep] {
        var started = Date()
        let token: String
        do {
            token = try await credentials.graphToken(address: address, settings: settings, renewing: false)
        } catch {
            return [step(credentialStep, false, ReceivingGatewayFetcher.oneLine(error), since: started)]
        }
        var steps = [step(credentialStep, true, "token endpoint answered", since: started)]
        let mailbox: GraphMailbox
        do {
            mailbox = try credentials.graphMailbox(address: address, settings: settings)
        } catch {
            return steps + [step("reach mailbox", false, ReceivingGatewayFetcher.oneLine(error), since: nil)]
        }
        steps += await GraphGatewayProbe(mailbox: mailbox).sendingSteps(token: token)
        guard steps.allSatisfy(\.ok), let sendTo else { return steps }
        started = Date()
        let message = Self.testMessage(from: address, to: sendTo, server: mailbox.client.baseURL, date: now())
        do {
            try await mailbox.sendMIME(Array(message.utf8))
            steps.append(step("send test message", true, "to \(sendTo): 202 Accepted by Graph sendMail", since: started))
        } catch {
            steps.append(step("send test message", false, "to \(sendTo): \(ReceivingGatewayFetcher.oneLine(error))", since: started))
        }
        return steps
    }

    private var credentialStep: String { settings.auth == .oauth2 ? "obtain access token" : "open stored password" }

    /// Sends the test message by normal delivery; the outcome in one line.
    private func sendTestMessage(to recipient: EmailAddress, endpoint: SMTPEndpoint) async -> (Bool, String) {
        let message = Self.testMessage(from: address, to: recipient, server: endpoint.description, date: now())
        let path: String
        do {
            path = try await threadPool.runToCompletion {
                BlockingWork.assertAllowedHere("writing the test message")
                let path = FileManager.default.temporaryDirectory.appendingPathComponent("postgate-test-\(UUID().uuidString).eml").path
                try Data(message.utf8).write(to: URL(fileURLWithPath: path))
                return path
            }
        } catch {
            return (false, "cannot write the test message: \(ReceivingGatewayFetcher.oneLine(error))")
        }
        let request = SMTPDeliveryRequest(sender: address.description, recipients: [recipient.description], path: path,
                                          size: message.utf8.count)
        let outcome = await client.deliver(request, to: endpoint).first ?? .temporary(reason: "no outcome")
        try? await threadPool.runToCompletion {
            BlockingWork.assertAllowedHere("removing the test message")
            try FileManager.default.removeItem(atPath: path)
        }
        switch outcome {
        case .delivered(let reply): return (true, "to \(recipient): \(Self.oneLine(reply))")
        case .temporary(let reason): return (false, "to \(recipient), temporary failure: \(Self.oneLine(reason))")
        case .permanent(let reason): return (false, "to \(recipient), refused: \(Self.oneLine(reason))")
        }
    }

    /// A short plain-text message (RFC 5322 section 3.6: Date and From required, Message-ID
    /// section 3.6.4) from the channel address.
    static func testMessage(from sender: EmailAddress, to recipient: EmailAddress, server: String, date: Date) -> String {
        [
            "From: <\(sender)>",
            "To: <\(recipient)>",
            "Subject: Postgate connection test",
            "Date: \(RFC5322Date.format(secondsSince1970: Int(date.timeIntervalSince1970)))",
            "Message-ID: <\(UUID().uuidString.lowercased())@\(sender.domain.ascii)>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=us-ascii",
            "Content-Transfer-Encoding: 7bit",
            "",
            "This message tests the sending gateway of \(sender) through \(server).",
            "",
        ].joined(separator: "\r\n")
    }

    private func step(_ name: String, _ ok: Bool, _ detail: String, since started: Date?) -> GatewayProbeStep {
        GatewayProbeStep(step: name, ok: ok, detail: detail,
                         milliseconds: started.map { Int((Date().timeIntervalSince($0) * 1000).rounded()) } ?? 0)
    }

    private static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 }.prefix(500))
    }
}
