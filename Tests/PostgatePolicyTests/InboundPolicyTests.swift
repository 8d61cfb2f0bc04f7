import PostgateMessage
import Testing
@testable import PostgatePolicy

@Suite struct InboundPolicyTests {
    private let support: Set<String> = ["support@acme.test", "help@acme.test"]

    private func evaluate(
        _ fields: [(String, String)], sender: String = "bob@customer.example",
        settings: AddressPolicySettings? = nil, blocked: [String] = []
    ) throws -> PolicyVerdict {
        let entries = try blocked.map { try BlocklistEntry(parsing: $0) }
        let settings = settings ?? AddressPolicySettings(recipientAddresses: support)
        return InboundPolicy.evaluate(header: header(fields), envelopeSender: sender, settings: settings) { sender in
            entries.first { $0.matches(sender) }
        }
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

    @Test func recipientOnlyNeedsTheAddressInToOrCc() throws {
        let settings = AddressPolicySettings(syncWhenRecipientOnly: true, recipientAddresses: support)
        #expect(try evaluate(ordinary, settings: settings) == .deliver)
        #expect(try evaluate([("From", "bob@customer.example"), ("To", "x@y.example"), ("Cc", "\"Help\" <HELP@acme.test>")], settings: settings) == .deliver)
        #expect(try evaluate([("From", "bob@customer.example"), ("Resent-To", "support@acme.test"), ("To", "x@y.example")], settings: settings) == .deliver)
        // Bcc: the address is in no visible field.
        let bcc = try evaluate([("From", "bob@customer.example"), ("To", "someone@else.example")], settings: settings)
        #expect(bcc == .quarantined(.notARecipient))
        #expect(bcc.label == "quarantined:not-a-recipient")
    }

    @Test func forwardedMessagesPassWhenTheForwardedAddressWasAVisibleRecipient() throws {
        let settings = AddressPolicySettings(syncWhenRecipientOnly: true, recipientAddresses: support)
        // The contact centre's own address keeps To; its MTA records it as the original recipient.
        for field in InboundPolicy.forwardingFieldNames {
            let forwarded = [("From", "bob@customer.example"), ("To", "Acme <service@acme.example>"), (field, "service@acme.example")]
            #expect(try evaluate(forwarded, settings: settings) == .deliver, "\(field)")
        }
        // A Bcc copy also gets a Delivered-To: the trace field alone is not enough.
        let bccCopy = [("From", "bob@customer.example"), ("To", "friend@other.example"), ("Delivered-To", "service@acme.example")]
        #expect(try evaluate(bccCopy, settings: settings) == .quarantined(.notARecipient))
        // The contact centre's address known to the settings counts as a To match.
        var known = settings
        known.recipientAddresses.insert("service@acme.example")
        #expect(try evaluate([("From", "bob@customer.example"), ("To", "service@acme.example")], settings: known) == .deliver)
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
