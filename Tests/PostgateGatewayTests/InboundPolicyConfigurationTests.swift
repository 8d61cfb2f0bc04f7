import Foundation
import PostgateMessage
import PostgatePolicy
import PostgateStore
import Testing
@testable import PostgateGateway

@Suite struct InboundPolicyConfigurationTests {
    @Test func readsTheInboundPolicyDefaults() throws {
        let configuration = try GatewayConfiguration.parse("""
            inbound_policy:
              exclude_auto_replies: false
              sync_when_recipient_only: yes
              allowed_sender_domains: [Customer.example, bücher.example]
            """)
        let defaults = configuration.addressPolicyDefaults
        #expect(defaults.excludeAutoReplies == false)
        #expect(defaults.syncWhenRecipientOnly == true)
        #expect(defaults.allowedSenderDomains.map(\.ascii) == ["customer.example", "xn--bcher-kva.example"])
        #expect(GatewayConfiguration().addressPolicyDefaults == AddressPolicySettings())
    }

    @Test func refusesUnknownKeysAndBadDomains() {
        #expect(throws: ConfigurationError.self) { try GatewayConfiguration.parse("inbound_policy:\n  allowed_domains: []\n") }
        #expect(throws: ConfigurationError.self) { try GatewayConfiguration.parse("inbound_policy:\n  allowed_sender_domains: [\"not a domain\"]\n") }
        #expect(throws: ConfigurationError.self) { try GatewayConfiguration.parse("inbound_policy:\n  exclude_auto_replies: maybe\n") }
    }

    @Test func theExampleFileNamesThePolicySettings() throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Config/postgate.example.yaml").path
        let text = try String(contentsOfFile: example, encoding: .utf8)
        for key in ["inbound_policy", "exclude_auto_replies", "sync_when_recipient_only", "allowed_sender_domains"] {
            #expect(text.contains("\(key):"), "example lacks \(key)")
        }
    }

    @Test func policySettingsNameTheAddressAndItsAliases() throws {
        let record = AddressRecord(
            email: "support@acme.test", displayName: nil, enabled: true, aliases: ["help@xn--bcher-kva.test"],
            mailboxPath: "maildir/acme.test/support", messageCount: 0, createdAt: Date())
        let defaults = AddressPolicySettings(syncWhenRecipientOnly: true)
        let settings = InboundDelivery.policySettings(for: record, defaults: defaults)
        #expect(settings.recipientAddresses == ["support@acme.test", "help@xn--bcher-kva.test"])
        #expect(settings.syncWhenRecipientOnly)
    }
}
