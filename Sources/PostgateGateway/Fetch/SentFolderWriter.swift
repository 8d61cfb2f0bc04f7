import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgateBlocking
import PostgateConnectors
import PostgateDirectory
import PostgateMessage
import PostgateOutbound
import PostgateStore

/// Stores a reply sent through a sending gateway in the provider mailbox's Sent folder: an
/// IMAP APPEND with `\Seen` (RFC 9051 section 6.3.12) through the server and credentials of
/// the address's IMAP receiving gateway, into the sending gateway's `sentFolder`, else the
/// folder LIST marks `\Sent` (RFC 6154 section 2).
struct SentFolderWriter: SentCopyWriter {
    let store: MailStore
    let credentials: any GatewayCredentialSource
    let threadPool: NIOThreadPool
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger

    func storeSentCopy(_ message: [UInt8], sender: String) async throws {
        let address = try EmailAddress(sender)
        let store = self.store
        let (sending, receiving) = try await threadPool.runToCompletion {
            BlockingWork.assertAllowedHere("looking up the gateways for a Sent copy")
            let sending = try store.gateway(SendingGatewaySettings.self, of: address)?.published
            let receiving = try store.publishedReceivingGateways().first { $0.address == address }
            return (sending, receiving)
        }
        guard let sending, sending.saveToSent else { return }
        guard let receiving, receiving.settings.kind == .imap else {
            throw FetchError("\(address) has no published IMAP receiving gateway to store the Sent copy through")
        }
        let gateway = ReceivingGateway(id: receiving.gatewayID, address: address, settings: receiving.settings)
        let settings = gateway.settings
        let credential: GatewayCredential
        do {
            credential = try await credentials.credential(for: gateway)
        } catch {
            await credentials.attemptFailed(gateway)
            throw error
        }
        let timeout = Double(settings.connectionTimeoutMS) / 1000
        let client = IMAPClient(configuration: IMAPConfiguration(
            host: settings.host, port: settings.port, tls: settings.tls.connectorMode, caCertificateFile: settings.caFile,
            allowPlaintextAuthentication: settings.allowPlaintext, connectTimeout: timeout, responseTimeout: timeout),
            group: eventLoopGroup, logger: logger)
        let wanted = sending.sentFolder
        do {
            try await client.connect { session in
                try await session.authenticate(credential.imap(user: settings.username))
                let folder = try Self.sentFolder(wanted, among: try await session.list())
                try await session.append(mailbox: folder, flags: ["\\Seen"], message: message)
                try? await session.logout()
            }
        } catch {
            await credentials.attemptFailed(gateway)
            throw error
        }
    }

    /// The folder named `wanted` (as sent or decoded from modified UTF-7, RFC 9051 section
    /// 5.1.3), else the one with the `\Sent` attribute (RFC 6154 section 2).
    static func sentFolder(_ wanted: String?, among mailboxes: [IMAPMailbox]) throws -> String {
        if let wanted {
            let match = mailboxes.first { $0.name == wanted || IMAPModifiedUTF7.decode($0.name) == wanted }
            return match?.name ?? wanted
        }
        guard let sent = mailboxes.first(where: { mailbox in mailbox.attributes.contains { $0.caseInsensitiveCompare("\\Sent") == .orderedSame } }) else {
            throw FetchError("no folder has the \\Sent attribute (RFC 6154); set the sending gateway's sent folder")
        }
        return sent.name
    }
}
