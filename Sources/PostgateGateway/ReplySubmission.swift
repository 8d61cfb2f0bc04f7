import Foundation
import PostgateDKIM
import PostgateMessage
import PostgateOutbound
import PostgateSessions
import PostgateStore
import PostgateDirectory

/// An agent's reply on its way out: checked against the channel address, composed by the
/// `ReplyComposer`, DKIM-signed last, and queued durably before it returns, so the
/// submission listener may answer 250 right after it (RFC 5321 section 4.2.5).
public struct ReplySubmission: Sendable {
    public let store: MailStore
    public let queue: OutboundQueue
    public let configuration: GatewayConfiguration
    /// Counts replies signed and unsigned.
    public let metrics: DKIMMetrics

    public init(store: MailStore, queue: OutboundQueue, configuration: GatewayConfiguration, metrics: DKIMMetrics = .disabled) {
        self.store = store
        self.queue = queue
        self.configuration = configuration
        self.metrics = metrics
    }

    /// Composes, signs and queues `message` from the channel address `sender`, written by
    /// `agent` (who must belong to the address) when given.
    /// - Throws: `ReplyRefusal` with the SMTP reply for anything the sender must fix.
    public func submit(_ message: [UInt8], from sender: EmailAddress, to recipients: [EmailAddress], agent: String? = nil,
                       now: Date = Date()) throws -> OutboundMessageRecord {
        let address = try senderAddress(sender, agent: agent)
        let parent = try parentMessage(of: message, mailboxPath: address.mailboxPath)
        let queued = try queueReply(message, address: address, sender: sender, recipients: recipients, parent: parent, agent: agent,
                                    autoReply: nil, now: now)
        // The first agent to answer a session owns it; an answer stops the no-reply clock.
        if let agent, let session = parent?.sessionID { store.recordAgentReply(sessionID: session, agent: agent, now: now) }
        return queued
    }

    /// Composes, signs and queues the auto-reply `message` (RFC 3834) from the channel
    /// address `sender` to `autoReply.recipient`, answering the stored message `parent`:
    /// the same path as an agent's reply, recorded in the parent's session, queued only if
    /// the address's limits still allow it.
    /// - Throws: `ReplyRefusal` when the address may not send; `OutboundQueueError.autoReplyHeld`
    ///   when the limits hold it back.
    public func submitAutoReply(_ message: [UInt8], from sender: EmailAddress, parent: OutboundReplyParent,
                                autoReply: OutboundAutoReply, now: Date = Date()) throws -> OutboundMessageRecord {
        let address = try senderAddress(sender, agent: nil)
        return try queueReply(message, address: address, sender: sender, recipients: [autoReply.recipient], parent: parent, agent: nil,
                              autoReply: autoReply, now: now)
    }

    /// Queues the closing message of a session that ended without the customer's reply:
    /// composed, signed and queued like an agent's reply, recorded in the session.
    public func submitClosingMessage(_ message: [UInt8], from sender: EmailAddress, to recipient: EmailAddress,
                                     parent: OutboundReplyParent, now: Date = Date()) throws -> OutboundMessageRecord {
        let address = try senderAddress(sender, agent: nil)
        return try queueReply(message, address: address, sender: sender, recipients: [recipient], parent: parent, agent: nil,
                              autoReply: nil, now: now)
    }

    /// Queues a bot's answer to a customer message: composed, signed and queued like an
    /// agent's reply, in the session of the message answered.
    public func submitBotReply(_ message: [UInt8], from sender: EmailAddress, to recipient: EmailAddress, parent: OutboundReplyParent,
                               now: Date = Date()) throws -> OutboundMessageRecord {
        let address = try senderAddress(sender, agent: nil)
        return try queueReply(message, address: address, sender: sender, recipients: [recipient], parent: parent, agent: nil,
                              autoReply: nil, now: now)
    }

    private func queueReply(_ message: [UInt8], address: AddressRecord, sender: EmailAddress, recipients: [EmailAddress],
                            parent: OutboundReplyParent?, agent: String?, autoReply: OutboundAutoReply?, now: Date) throws -> OutboundMessageRecord {
        let sessionID = parent?.sessionID
        // An auto-reply is no session's first reply: the contact card waits for an agent's.
        let thread = try threadFields(parent: parent, firstReplyPossible: autoReply == nil, now: now)
        var writer: AgentRecord?
        if let agent { writer = try store.agent(agent) }
        let channel = Self.channel(of: address, outbound: configuration.outbound, agent: writer)
        let reply: ReplyComposer.Reply
        do {
            reply = try ReplyComposer(channel: channel).compose(message, envelopeRecipients: recipients.map(\.description), thread: thread, date: now)
        } catch {
            throw ReplyRefusal(code: error.smtpReply.code, text: error.smtpReply.text)
        }
        // DKIM for the domain of From (the agent's own address for a personal reply), so the
        // signature aligns with it (RFC 7489 section 3.1.1).
        let author = try EmailAddress(channel.address)
        let kind = author.domain == sender.domain
            ? address.domainKind : try store.domains().first { $0.name == author.domain.ascii }?.kind ?? address.domainKind
        let signed = try sign(reply.bytes, domain: author.domain, kind: kind, now: now)
        let envelope = try reply.recipients.map { try EmailAddress($0) }
        return try queue.enqueue(sender: sender, recipients: envelope, message: signed, sessionID: sessionID,
                                 threadCopy: sessionID != nil || agent != nil, agent: agent?.lowercased(), autoReply: autoReply, now: now)
    }

    /// The channel address `sender`, if it is enabled, its usage allows outbound and
    /// `agent` (when given) belongs to it. The submission listener asks at MAIL FROM;
    /// `submit` asks again, as the directory may have changed since.
    /// - Throws: `ReplyRefusal` 550 5.7.1 (RFC 6409 section 6.1: the server may refuse a sender).
    public func senderAddress(_ sender: EmailAddress, agent: String?) throws -> AddressRecord {
        guard let address = try store.address(sender, countingMessages: false), address.enabled, address.settings.usage.sends else {
            throw ReplyRefusal(code: 550, text: "5.7.1 \(sender) is not a channel address that sends replies")
        }
        if let agent, try store.agent(agent)?.addresses.contains(address.email) != true {
            throw ReplyRefusal(code: 550, text: "5.7.1 agent \(agent) may not send as \(sender)")
        }
        return address
    }

    /// The channel settings the composer needs, with the gateway's defaults for limits.
    func channel(of address: AddressRecord) -> ReplyComposer.Channel {
        Self.channel(of: address, outbound: configuration.outbound)
    }

    /// The channel settings the composer needs for a reply `agent` writes (nil: Postgate's
    /// own, or an unknown writer): the agent's signature after the footer and, where the
    /// address has personal replies on and the agent an own address, From the agent's
    /// address with the channel's Reply-To.
    static func channel(of address: AddressRecord, outbound: GatewayConfiguration.OutboundSettings, agent: AgentRecord?) -> ReplyComposer.Channel {
        var channel = channel(of: address, outbound: outbound)
        guard let agent else { return channel }
        let signature = MailStore.signature(of: agent, address: address.email, addressName: address.settings.displayName)
        channel.signatureText = signature.text
        channel.signatureHTML = signature.html
        if address.settings.personalReplies, let own = agent.email {
            channel.replyTo = address.email
            channel.address = own
            channel.displayName = agent.displayName
        }
        return channel
    }

    /// The channel settings the composer needs, with `outbound`'s defaults for limits.
    static func channel(of address: AddressRecord, outbound: GatewayConfiguration.OutboundSettings) -> ReplyComposer.Channel {
        let settings = address.settings
        return ReplyComposer.Channel(
            address: address.email, displayName: settings.displayName, contactCentreAddress: settings.contactCentreAddress,
            templateHeaderText: settings.templateHeaderText, templateHeaderHTML: settings.templateHeaderHTML,
            templateFooterText: settings.templateFooterText, templateFooterHTML: settings.templateFooterHTML,
            contactCard: settings.sendContactCard ? settings.contactCard : nil,
            maxTo: settings.maxTo ?? outbound.defaultMaxTo, maxCc: settings.maxCc ?? outbound.defaultMaxCc,
            maxBcc: settings.maxBcc ?? outbound.defaultMaxBcc, maxAttachmentBytes: outbound.maxAttachmentBytes
        )
    }

    /// The stored message named in the reply's In-Reply-To, in the channel's mailbox.
    private func parentMessage(of message: [UInt8], mailboxPath: String) throws -> OutboundReplyParent? {
        let header = MessageHeader.parse(message)
        guard let inReplyTo = header["In-Reply-To"], let id = Self.messageIDs(inReplyTo).last else { return nil }
        return try queue.replyParent(messageID: id, mailboxPath: mailboxPath)
    }

    /// Message-ID (signed with the session when there is one), In-Reply-To and References.
    private func threadFields(parent: OutboundReplyParent?, firstReplyPossible: Bool, now: Date) throws -> ReplyComposer.Thread {
        let domain = try messageIDDomain()
        guard let parent else {
            return ReplyComposer.Thread(messageID: "<pg-\(UUID().uuidString.lowercased())@\(domain)>")
        }
        let inReplyTo = parent.messageID.isEmpty ? nil : parent.messageID
        let references = Self.messageIDs(parent.references ?? "") + (inReplyTo.map { [$0] } ?? [])
        guard let session = parent.sessionID else {
            return ReplyComposer.Thread(messageID: "<pg-\(UUID().uuidString.lowercased())@\(domain)>",
                                        inReplyTo: inReplyTo, references: references)
        }
        let ids = store.sessionMessageIDs
        let isFirstReply = try firstReplyPossible && !queue.hasReply(sessionID: session)
        return ReplyComposer.Thread(
            messageID: ids.messageID(sessionID: session, domain: domain), bodyMarker: ids.bodyMarker(sessionID: session),
            inReplyTo: inReplyTo, references: references, isFirstReply: isFirstReply
        )
    }

    /// The gateway's own (hosted-kind) domain, else its host name.
    func messageIDDomain() throws -> String {
        try store.domains().first { $0.kind == .hosted }?.name ?? configuration.hostname
    }

    /// DKIM-Signature on top (RFC 6376): always for a hosted-kind domain, for a custom
    /// domain only when its key's record verified (Success).
    func sign(_ bytes: [UInt8], domain: DomainName, kind: DomainKind, now: Date) throws -> [UInt8] {
        var keys = try store.dkimKeys(domain: domain)
        if keys.isEmpty, kind == .hosted {
            _ = try Gateway.ensureHostedDKIMKeys(store: store)
            keys = try store.dkimKeys(domain: domain)
        }
        let usable = kind == .hosted ? keys.last : keys.last { $0.status == DKIMVerificationStatus.success.rawValue }
        guard let entry = usable,
              let signer = try DKIMKeyring(store: store).signer(for: domain, selector: entry.selector) else {
            metrics.signatures[.unsigned]?.increment()
            return bytes
        }
        let field = try signer.sign(messageChunks: [bytes], time: now)
        metrics.signatures[.signed]?.increment()
        return Array(field.utf8) + bytes
    }

    /// The ids of a Message-ID list field, each in angle brackets.
    static func messageIDs(_ value: String) -> [String] {
        SessionHeaderFacts.messageIDs(value).map { "<\($0)>" }
    }
}

/// A submission refused with an SMTP reply (code and enhanced text).
public struct ReplyRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var text: String

    public var description: String { "\(code) \(text)" }
}
