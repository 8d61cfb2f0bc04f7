import PostgateMessage
import Testing
@testable import PostgatePolicy

/// Rule 0 of `InboundPolicy`, loop protection: a copy of Postgate's own reply (its signed
/// Message-ID verified, its From hosted) is `.ownReply`, whatever the other rules say.
@Suite struct OwnReplyPolicyTests {
    private let hosted: Set<String> = ["support@acme.test", "help@acme.test"]
    /// Stands for `SessionMessageID.sessionID(fromMessageID:)`: only this id verifies.
    private let signedID = "<pg1-7-0a1b2c3d-00112233445566778899@acme.test>"
    /// The session `signedID` names.
    private let signedSession: Int64 = 7

    private func evaluate(_ fields: [(String, String)], settings: AddressPolicySettings = AddressPolicySettings(),
                          blocked: [String] = []) throws -> PolicyVerdict {
        let entries = try blocked.map { try BlocklistEntry(parsing: $0) }
        return InboundPolicy.evaluate(
            header: header(fields), envelopeSender: "bounce@acme.test", settings: settings,
            blocklist: { sender in entries.first { $0.matches(sender) } },
            verifyMessageID: { $0 == signedID ? signedSession : nil },
            isHostedAddress: { hosted.contains($0.canonical) })
    }

    /// Our reply to Ana as Gmail forwards the contact centre's Bcc copy back to the channel.
    private var forwardedCopy: [(String, String)] {
        [("Received", "from mail-sor-f41.google.test by mx.acme.test"), ("X-Forwarded-To", "support@acme.test"),
         ("X-Forwarded-For", "service@acme.example support@acme.test"), ("From", "Acme Support <support@acme.test>"),
         ("To", "Ana <ana@customer.example>"), ("Subject", "Re: Order 4512"), ("Message-ID", signedID),
         ("In-Reply-To", "<CAF3kQ1x@mail.gmail.com>")]
    }

    @Test func aVerifiedCopyFromAHostedAddressIsAnOwnReply() throws {
        let verdict = try evaluate(forwardedCopy)
        #expect(verdict == .ownReply(sessionID: signedSession))
        #expect(verdict.label == "own-reply")
        #expect(verdict.description.hasSuffix("in session \(signedSession)"))
    }

    @Test func itWinsOverRecipientOnlyAllowedDomainsAndAutoReplyRules() throws {
        let strict = AddressPolicySettings(allowedSenderDomains: [try DomainName("customer.example")],
                                           syncWhenRecipientOnly: true, recipientAddresses: hosted)
        #expect(try evaluate(forwardedCopy + [("Auto-Submitted", "auto-generated")], settings: strict) == .ownReply(sessionID: signedSession))
        #expect(try evaluate(forwardedCopy, blocked: ["acme.test"]) == .ownReply(sessionID: signedSession))
    }

    @Test func aForgedOrForeignIDIsAnOrdinaryMessage() throws {
        let forged = forwardedCopy.map { $0.0 == "Message-ID" ? ($0.0, "<pg1-7-0a1b2c3d-ffffffffffffffffffff@acme.test>") : $0 }
        #expect(try evaluate(forged) == .deliver)
        // Judged as any other message: its forwarding trace names the address, a Bcc copy.
        let strict = AddressPolicySettings(syncWhenRecipientOnly: true, recipientAddresses: hosted)
        #expect(try evaluate(forged, settings: strict) == .deliver)
        let elsewhere = forged.filter { !$0.0.hasPrefix("X-Forwarded") } + [("Delivered-To", "desk@customer.example")]
        #expect(try evaluate(elsewhere, settings: strict) == .quarantined(.notARecipient))
        #expect(try evaluate(forwardedCopy.filter { $0.0 != "Message-ID" }) == .deliver)
    }

    @Test func theFromMustBeHosted() throws {
        // A customer quoting our id as their own Message-ID, or a spoof from outside.
        let fromCustomer = forwardedCopy.map { $0.0 == "From" ? ($0.0, "Ana <ana@customer.example>") : $0 }
        #expect(try evaluate(fromCustomer) == .deliver)
        let twoAuthors = forwardedCopy.map { $0.0 == "From" ? ($0.0, "support@acme.test, eve@evil.example") : $0 }
        #expect(try evaluate(twoAuthors) == .deliver)
        #expect(try evaluate(forwardedCopy.filter { $0.0 != "From" }) == .deliver)
    }
}
