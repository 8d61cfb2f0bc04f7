import PostgateMessage
import Testing
@testable import PostgatePolicy

/// Rule 0a of `InboundPolicy`: the test message of a forwarding check, back through the
/// customer's forwarding, is `.forwardingCheck` when its token verifies and its From is
/// hosted, whatever the later rules say.
@Suite struct ForwardingCheckPolicyTests {
    private let hosted: Set<String> = ["support@acme.test"]
    /// Stands for `SessionMessageID.isForwardingCheck(token:)`: only this token verifies.
    private let token = "pgf-0123456789abcdef-00112233445566778899"

    private func evaluate(_ fields: [(String, String)], settings: AddressPolicySettings = AddressPolicySettings()) -> PolicyVerdict {
        InboundPolicy.evaluate(
            header: header(fields), envelopeSender: "SRS0=ab=cd=customer.test=help@customer.test", settings: settings,
            blocklist: { _ in nil }, verifyMessageID: { _ in nil },
            isHostedAddress: { hosted.contains($0.canonical) },
            verifyForwardingCheck: { $0.lowercased() == token })
    }

    private var check: [(String, String)] {
        [("Delivered-To", "help@customer.test"), ("From", "Acme Support <support@acme.test>"), ("To", "<help@customer.test>"),
         ("Subject", ForwardingCheck.subject(token: token)), ("Message-ID", "<\(token)@acme.test>")]
    }

    @Test func theCheckIsRecognisedBeforeTheOtherRules() {
        let strict = AddressPolicySettings(allowedSenderDomains: [try! DomainName("example.test")], syncWhenRecipientOnly: true,
                                           recipientAddresses: hosted)
        #expect(evaluate(check) == .forwardingCheck(token: token))
        #expect(evaluate(check, settings: strict) == .forwardingCheck(token: token))
        #expect(evaluate(check).label == "forwarding-check")
    }

    @Test func aReplacedMessageIDLeavesTheSubjectTag() {
        let relayed = check.map { $0.0 == "Message-ID" ? ($0.0, "<AM0PR01MB1234@eurprd01.prod.outlook.test>") : $0 }
        #expect(evaluate(relayed) == .forwardingCheck(token: token))
        let encoded = relayed.map { $0.0 == "Subject" ? ($0.0, "=?utf-8?q?Fwd:_Postgate_forwarding_check_[\(token.uppercased())]?=") : $0 }
        #expect(evaluate(encoded) == .forwardingCheck(token: token))
    }

    @Test func anUnverifiedTokenOrAForeignFromIsOrdinaryMail() {
        let forged = check.map { ["Subject", "Message-ID"].contains($0.0) ? ($0.0, $0.1.replacingOccurrences(of: "0011", with: "ffff")) : $0 }
        #expect(evaluate(forged) == .deliver)
        let fromCustomer = check.map { $0.0 == "From" ? ($0.0, "Ana <ana@customer.test>") : $0 }
        #expect(evaluate(fromCustomer) == .deliver)
        #expect(evaluate(check.filter { $0.0 != "From" }) == .deliver)
    }
}
