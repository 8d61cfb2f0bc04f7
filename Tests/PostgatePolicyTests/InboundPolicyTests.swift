import PostgateMessage
import Testing
@testable import PostgatePolicy

@Suite struct InboundPolicyTests {
    private let support: Set<String> = ["support@acme.test", "help@acme.test"]

    private func evaluate(
        _ fields: [(String, String)], sender: String = "bob@customer.example",
        settings: AddressPolicySettings? = nil, blocked: [String] = [], recipient: String? = nil
    ) throws -> PolicyVerdict {
        let entries = try blocked.map { try BlocklistEntry(parsing: $0) }
        let settings = settings ?? AddressPolicySettings(recipientAddresses: support)
        return InboundPolicy.evaluate(
            header: header(fields), envelopeSender: sender, settings: settings, envelopeRecipient: recipient,
            blocklist: { sender in entries.first { $0.matches(sender) } },
            verifyMessageID: { _ in nil }, isHostedAddress: { _ in false })
    }

    private let ordinary = [("From", "Bob <bob@customer.example>"), ("To", "support@acme.test"), ("Subject", "Help")]

    @Test func anOrdinaryMessageIsDelivered() throws {
        #expect(try evaluate(ordinary) == .deliver)
        #expect(PolicyVerdict.deliver.label == nil)
    }

    @Test func blockedByFromAddressEnvelopeSenderOrDomain() throws {
        let byAddress = try evaluate(ordinary, blocked: ["BOB@customer.example"])
        #expect(byAddress == .blocked(try BlocklistEntry(parsing: "bob@customer.example")))
        #expect(byAddress.label == "blocked")
        #expect(try evaluate(ordinary, sender: "srs@relay.example", blocked: ["relay.example"]) == .blocked(try BlocklistEntry(parsing: "relay.example")))
        #expect(try evaluate(ordinary, blocked: ["customer.example"]).label == "blocked")
        #expect(try evaluate(ordinary, blocked: ["other.example", "alice@customer.example"]) == .deliver)
    }

    @Test func blockingWinsOverAutoReplyAndQuarantine() throws {
        let settings = AddressPolicySettings(allowedSenderDomains: [try DomainName("partner.example")], recipientAddresses: support)
        let fields = ordinary + [("Auto-Submitted", "auto-replied")]
        #expect(try evaluate(fields, settings: settings, blocked: ["customer.example"]).label == "blocked")
    }

    @Test func allowedDomainsUseTheAuthorAndAcceptSubdomains() throws {
        let settings = AddressPolicySettings(
            allowedSenderDomains: [try DomainName("customer.example"), try DomainName("bücher.example")], recipientAddresses: support)
        #expect(try evaluate(ordinary, sender: "srs0=x@forwarder.example", settings: settings) == .deliver)
        #expect(try evaluate([("From", "x@eu.customer.example")], settings: settings) == .deliver)
        #expect(try evaluate([("From", "x@xn--bcher-kva.example")], settings: settings) == .deliver)
        let outsider = try evaluate([("From", "eve@evil.example")], sender: "eve@evil.example", settings: settings)
        #expect(outsider == .quarantined(.senderDomainNotAllowed("evil.example")))
        #expect(outsider.label == "quarantined:sender-domain-not-allowed")
        #expect(try evaluate([("From", "x@notcustomer.example")], settings: settings).isQuarantined)
        // No From: the envelope sender is the author; neither: nothing to allow.
        #expect(try evaluate([], sender: "bob@customer.example", settings: settings) == .deliver)
        #expect(try evaluate([], sender: "", settings: settings) == .quarantined(.senderDomainNotAllowed(nil)))
    }

    @Test func recipientOnlyNeedsTheAddressInToCcOrBcc() throws {
        let settings = AddressPolicySettings(syncWhenRecipientOnly: true, recipientAddresses: support)
        #expect(try evaluate(ordinary, settings: settings) == .deliver)
        #expect(try evaluate([("From", "bob@customer.example"), ("To", "x@y.example"), ("Cc", "\"Help\" <HELP@acme.test>")], settings: settings) == .deliver)
        #expect(try evaluate([("From", "bob@customer.example"), ("Resent-To", "support@acme.test"), ("To", "x@y.example")], settings: settings) == .deliver)
        // Bcc by SMTP: in no visible field, but the envelope recipient is the address.
        let bcc = [("From", "bob@customer.example"), ("To", "someone@else.example")]
        #expect(try evaluate(bcc, settings: settings, recipient: "Support@acme.test") == .deliver)
        #expect(try evaluate(bcc, settings: settings, recipient: "help@acme.test") == .deliver)
        // Without an envelope recipient that names the address, nothing says it was addressed.
        let unknown = try evaluate(bcc, settings: settings)
        #expect(unknown == .quarantined(.notARecipient))
        #expect(unknown.label == "quarantined:not-a-recipient")
        #expect(try evaluate(bcc, settings: settings, recipient: "other@acme.test") == .quarantined(.notARecipient))
    }

    @Test func aBccCopyIsKnownByItsTraceFieldAndAForwardedCopyOfOtherMailIsNot() throws {
        let settings = AddressPolicySettings(syncWhenRecipientOnly: true, recipientAddresses: support)
        // Fetched from the provider's mailbox: the provider recorded the address it delivered to.
        for field in ["Delivered-To", "X-Original-To"] {
            let bccCopy = [("From", "bob@customer.example"), ("To", "friend@other.example"), (field, "support@acme.test")]
            #expect(try evaluate(bccCopy, settings: settings, recipient: "support@acme.test") == .deliver, "\(field)")
        }
        // Forwarded here by a rule of another mailbox: the trace names only that mailbox, and
        // the envelope recipient (this address) does not make it addressed.
        let forwardedOther = [("From", "bob@customer.example"), ("To", "someone@else.example"), ("Delivered-To", "friend@other.example")]
        #expect(try evaluate(forwardedOther, settings: settings, recipient: "support@acme.test") == .quarantined(.notARecipient))
        // A mailing-list copy is not addressed to the address, whatever delivered it.
        let list = [("From", "news@list.example"), ("To", "members@list.example"), ("List-Id", "<members.list.example>"),
                    ("Delivered-To", "support@acme.test")]
        #expect(try evaluate(list, settings: settings, recipient: "support@acme.test") == .quarantined(.notARecipient))
    }

    @Test func forwardedMessagesPassWhenTheForwardedAddressWasAVisibleRecipient() throws {
        let settings = AddressPolicySettings(syncWhenRecipientOnly: true, recipientAddresses: support)
        // The contact centre's own address keeps To; its MTA records it as the original recipient.
        for field in InboundPolicy.forwardingFieldNames {
            let forwarded = [("From", "bob@customer.example"), ("To", "Acme <service@acme.example>"), (field, "service@acme.example")]
            #expect(try evaluate(forwarded, settings: settings, recipient: "support@acme.test") == .deliver, "\(field)")
        }
        // The contact centre's address known to the settings counts as a To match.
        var known = settings
        known.recipientAddresses.insert("service@acme.example")
        #expect(try evaluate([("From", "bob@customer.example"), ("To", "service@acme.example")], settings: known) == .deliver)
    }

    @Test func theBlocklistSwitchKeepsEntriesButLetsSendersThrough() throws {
        var settings = AddressPolicySettings(recipientAddresses: support)
        #expect(try evaluate(ordinary, settings: settings, blocked: ["customer.example"]).label == "blocked")
        settings.blocklistEnabled = false
        #expect(try evaluate(ordinary, settings: settings, blocked: ["customer.example"]) == .deliver)
    }

    @Test func theAdministratorsOwnAutoReplyKeywordsAndSenders() throws {
        let settings = AddressPolicySettings(recipientAddresses: support, autoReplyKeywords: ["Ticket received"],
                                             autoReplySenders: ["noreply@shop.example", "alerts.example"])
        let keyword = [("From", "bob@customer.example"), ("To", "support@acme.test"), ("Subject", "=?UTF-8?Q?Re:_ticket_RECEIVED_=E2=9C=93?=")]
        #expect(try evaluate(keyword, settings: settings) == .autoReply(.keyword("Ticket received")))
        #expect(try evaluate([("From", "NoReply@Shop.example"), ("To", "support@acme.test")], settings: settings) == .autoReply(.listedSender("noreply@shop.example")))
        #expect(try evaluate(ordinary, sender: "x@eu.alerts.example", settings: settings) == .autoReply(.listedSender("alerts.example")))
        #expect(try evaluate(ordinary, settings: settings) == .deliver)
        var off = settings
        off.excludeAutoReplies = false
        #expect(try evaluate(keyword, settings: off) == .deliver)
        // The text is read only when the subject did not match, and only with keywords set.
        var asked = 0
        let inText = InboundPolicy.evaluate(
            header: header(ordinary), envelopeSender: "bob@customer.example", settings: settings,
            bodyText: { asked += 1; return "Your TICKET RECEIVED, thank you" }, blocklist: { _ in nil },
            verifyMessageID: { _ in nil }, isHostedAddress: { _ in false })
        #expect(inText == .autoReply(.keyword("Ticket received")) && asked == 1)
        _ = InboundPolicy.evaluate(
            header: header(ordinary), envelopeSender: "bob@customer.example", settings: AddressPolicySettings(recipientAddresses: support),
            bodyText: { asked += 1; return "" }, blocklist: { _ in nil }, verifyMessageID: { _ in nil }, isHostedAddress: { _ in false })
        #expect(asked == 1, "no keywords: the text is not read")
    }

    @Test func autoRepliesAreFlaggedOnlyWhenExcluded() throws {
        let fields = ordinary + [("Auto-Submitted", "auto-replied")]
        let flagged = try evaluate(fields)
        #expect(flagged == .autoReply(.autoSubmitted("auto-replied")))
        #expect(flagged.label == "auto-reply")
        let keep = AddressPolicySettings(excludeAutoReplies: false, recipientAddresses: support)
        #expect(try evaluate(fields, settings: keep) == .deliver)
        #expect(try evaluate(ordinary, sender: "") == .autoReply(.nullSender))
    }

    @Test func headerAddressListsAreReadLeniently() throws {
        let value = "\"Smith, Bob\" <bob@a.example>, (comment) carol@b.example (Carol), Team: dan@c.example, <eve@d.example>;, garbage, <>"
        #expect(HeaderAddressList.addresses(in: value).map(\.canonical) == [
            "bob@a.example", "carol@b.example", "dan@c.example", "eve@d.example",
        ])
    }
}

/// Forwarding confirmations: recognised, and their link and code found.
@Suite struct ForwardingConfirmationTests {
    static func header(_ fields: [(String, String)]) -> MessageHeader {
        PostgatePolicyTests.header(fields)
    }

    @Test func knownSendersAndConfirmationSubjectsAreRecognisedButRepliesAreNot() {
        #expect(ForwardingConfirmation.provider(header: Self.header([("From", "Gmail Team <forwarding-noreply@google.com>"), ("Subject", "x")])) == "Gmail")
        #expect(ForwardingConfirmation.provider(header: Self.header([("From", "noreply@mail.example"),
                                                                     ("Subject", "=?UTF-8?Q?Please_verify_forwarding?=")])) == "mail.example")
        #expect(ForwardingConfirmation.provider(header: Self.header([("From", "bob@customer.example"), ("Subject", "Re: Forwarding confirmation")])) == nil)
        #expect(ForwardingConfirmation.provider(header: Self.header([("From", "bob@customer.example"), ("Subject", "Order")])) == nil)
    }

    @Test func theLinkAndTheCodeAreFound() {
        let gmail = ForwardingConfirmation.details(subject: "(#612345789) Gmail Forwarding Confirmation",
                                                   text: "Click\nhttps://mail-settings.google.com/mail/vf-abc\nto confirm")
        #expect(gmail.link == "https://mail-settings.google.com/mail/vf-abc" && gmail.code == "612345789")
        let other = ForwardingConfirmation.details(subject: "Verify forwarding", text: "Your code: X7-42 (valid a day)\n<https://p.example/v?t=1>")
        #expect(other.link == "https://p.example/v?t=1" && other.code == "X7-42")
        #expect(ForwardingConfirmation.details(subject: nil, text: "nothing here") == (nil, nil))
    }

    @Test func aConfirmationComesBeforeTheAllowedDomainRule() throws {
        let settings = AddressPolicySettings(allowedSenderDomains: [try DomainName("customer.example")])
        let verdict = InboundPolicy.evaluate(
            header: Self.header([("From", "forwarding-noreply@google.com"), ("Subject", "(#1) Gmail Forwarding Confirmation")]),
            envelopeSender: "forwarding-noreply@google.com", settings: settings, blocklist: { _ in nil },
            verifyMessageID: { _ in nil }, isHostedAddress: { _ in false })
        #expect(verdict == .forwardingConfirmation(provider: "Gmail") && verdict.label == "forwarding-confirmation")
    }
}
