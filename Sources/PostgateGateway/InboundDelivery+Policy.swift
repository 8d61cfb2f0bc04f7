import PostgateMessage
import PostgatePolicy
import PostgateStore
import PostgateMaildir
import PostgateIndex
import PostgateDirectory

/// The inbound policy on the delivery path: for each receiving mailbox, the verdict of
/// `InboundPolicy` decides the label stored on the row and whether the copy goes to the
/// address's mailbox or to its quarantine. Loop protection checks the Message-ID with the
/// store's session key (`MailStore.sessionMessageIDs`) and the From against the directory.
extension InboundDelivery {
    /// Where each copy of a message goes and with which label.
    struct PolicyRouting {
        /// Per mailbox (the address's own or its quarantine), the `RCPT TO` that reached it.
        var rcptTo: [MailboxTarget: String] = [:]
        /// Per mailbox, the `message.policy` label; absent for an ordinary message.
        var labels: [MailboxTarget: String] = [:]
    }

    /// The policy settings of a receiving address, from its published channel settings:
    /// allowed sender domains, exclude auto-replies, sync-when-recipient-only; the names
    /// that count as the address in To/Cc are the address, its aliases and the contact
    /// centre's own address (which forwards to it and often stays in To).
    static func policySettings(for record: AddressRecord) -> AddressPolicySettings {
        let settings = record.settings
        let names = ([record.email] + settings.aliases + [settings.contactCentreAddress].compactMap { $0 })
            .compactMap { try? EmailAddress($0).canonical }
        return AddressPolicySettings(
            allowedSenderDomains: settings.allowedSenderDomains.compactMap { try? DomainName($0) },
            excludeAutoReplies: settings.excludeAutoReplies, syncWhenRecipientOnly: settings.syncWhenRecipientOnly,
            recipientAddresses: Set(names), blocklistEnabled: settings.blocklistEnabled,
            autoReplyKeywords: settings.autoReplyKeywords, autoReplySenders: settings.autoReplySenders)
    }

    /// Applies the inbound policy to each accepted mailbox (runs on the thread pool).
    func route(_ targets: [MailboxTarget: String], header: MessageHeader, mailFrom: String, bodyText: (() -> String)? = nil,
               directory: DirectorySnapshot) throws(StoreError) -> PolicyRouting {
        var routing = PolicyRouting()
        for (target, recipient) in targets {
            let verdict = try verdict(for: target, recipient: recipient, header: header, mailFrom: mailFrom, bodyText: bodyText,
                                      directory: directory)
            let destination = verdict.isQuarantined ? try store.quarantineTarget(for: target) : target
            routing.rcptTo[destination] = recipient
            routing.labels[destination] = verdict.label
            if verdict != .deliver {
                logger.notice("inbound policy", metadata: [
                    "mailbox": "\(target.mailboxPath)", "from": "\(mailFrom)", "verdict": "\(verdict)",
                ])
            }
        }
        return routing
    }

    private func verdict(for target: MailboxTarget, recipient: String, header: MessageHeader, mailFrom: String, bodyText: (() -> String)?,
                         directory: DirectorySnapshot) throws(StoreError) -> PolicyVerdict {
        guard let record = try directory.address(target.address) else { return .deliver }
        do {
            return try InboundPolicy.evaluate(
                header: header, envelopeSender: mailFrom, settings: Self.policySettings(for: record), envelopeRecipient: recipient,
                bodyText: bodyText,
                blocklist: { sender in try directory.blocklistEntry(blocking: sender, for: target) },
                verifyMessageID: store.sessionMessageIDs.sessionID(fromMessageID:),
                isHostedAddress: { address in try directory.isOwnSender(address) },
                verifyForwardingCheck: store.sessionMessageIDs.isForwardingCheck(token:))
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.database(path: store.dataPath, reason: "\(error)")
        }
    }
}
