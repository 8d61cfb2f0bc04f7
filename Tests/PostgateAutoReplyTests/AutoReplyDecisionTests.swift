import Foundation
import Testing
@testable import PostgateAutoReply
import PostgateMessage

/// Whether a message gets an auto-reply and which (RFC 3834): value types in, a decision
/// out; no store, no clock.
@Suite struct AutoReplyDecisionTests {
    static let both = AutoReplyRules(enabled: [.inHours, .outOfHours], hourlyCap: 3)

    static func facts(_ fields: [String] = [], sender: String = "jane@example.test", label: String? = nil,
                      opensSession: Bool = true, inHours: Bool = true) -> AutoReplyFacts {
        let text = (["From: Jane <jane@example.test>", "To: support@acme.test", "Subject: Help"] + fields).joined(separator: "\r\n") + "\r\n\r\n"
        return AutoReplyFacts(header: MessageHeader.parse(Array(text.utf8)), envelopeSender: sender, policyLabel: label,
                              opensSession: opensSession, inWorkingHours: inHours)
    }

    static func screen(_ facts: AutoReplyFacts, rules: AutoReplyRules = both) -> AutoReplyScreening {
        AutoReplyDecision.screen(facts, rules: rules) { $0.domain.ascii == "acme.test" }
    }

    @Test func theCalendarPicksTheKindAndTheReturnPathIsTheRecipient() throws {
        let jane = try EmailAddress("jane@example.test")
        #expect(Self.screen(Self.facts(sender: "<jane@example.test>")) == .reply(.inHours, to: jane))
        #expect(Self.screen(Self.facts(inHours: false)) == .reply(.outOfHours, to: jane))
        #expect(Self.screen(Self.facts(inHours: false), rules: AutoReplyRules(enabled: [.inHours])) == .skip(.kindDisabled(.outOfHours)))
    }

    @Test(arguments: [
        ("Auto-Submitted: auto-replied", AutoReplySkip.automatic(.autoSubmitted("auto-replied"))),
        ("Auto-Submitted: auto-generated", .automatic(.autoSubmitted("auto-generated"))),
        ("Precedence: bulk", .automatic(.precedence("bulk"))),
        ("X-Autoreply: yes", .automatic(.autoreplyField("X-Autoreply"))),
        ("List-Id: <news.example.test>", .mailingList("List-Id")),
        ("List-Unsubscribe: <mailto:leave@example.test>", .mailingList("List-Unsubscribe")),
    ])
    func automaticBulkAndListMailGetsNone(field: String, reason: AutoReplySkip) {
        #expect(Self.screen(Self.facts([field])) == .skip(reason))
    }

    @Test func aPersonsAutoSubmittedNoIsAnswered() throws {
        #expect(Self.screen(Self.facts(["Auto-Submitted: no"])) == .reply(.inHours, to: try EmailAddress("jane@example.test")))
    }

    @Test func nullSendersOwnAddressesAndLabelledMailGetNone() {
        #expect(Self.screen(Self.facts(sender: "")) == .skip(.nullSender))
        #expect(Self.screen(Self.facts(sender: "<>")) == .skip(.nullSender))
        #expect(Self.screen(Self.facts(sender: "MAILER-DAEMON@example.test")) == .skip(.automatic(.systemSender("mailer-daemon@example.test"))))
        #expect(Self.screen(Self.facts(sender: "help@acme.test")) == .skip(.ownAddress("help@acme.test")))
        #expect(Self.screen(Self.facts(label: "blocked")) == .skip(.labelled("blocked")))
        #expect(Self.screen(Self.facts(label: "own-reply")) == .skip(.labelled("own-reply")))
    }

    @Test func onlyASessionsFirstMessageUnlessAPeriodIsSet() throws {
        #expect(Self.screen(Self.facts(opensSession: false)) == .skip(.notFirstOfSession))
        let daily = AutoReplyRules(enabled: [.inHours], periodHours: 24, hourlyCap: 3)
        #expect(Self.screen(Self.facts(opensSession: false), rules: daily) == .reply(.inHours, to: try EmailAddress("jane@example.test")))
    }

    @Test func theLimitsCountWhatWasSent() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let session = Self.both
        #expect(AutoReplyDecision.admit(AutoReplyHistory(), rules: session, now: now) == nil)
        #expect(AutoReplyDecision.admit(AutoReplyHistory(sentLastHour: 2), rules: session, now: now) == nil)
        #expect(AutoReplyDecision.admit(AutoReplyHistory(sentLastHour: 3), rules: session, now: now) == .hourlyCapReached(3))
        #expect(AutoReplyDecision.admit(AutoReplyHistory(sessionAnswered: true), rules: session, now: now) == .sessionAnswered)
        let none = AutoReplyRules(enabled: [.inHours], hourlyCap: 0)
        #expect(AutoReplyDecision.admit(AutoReplyHistory(), rules: none, now: now) == .hourlyCapReached(0))
        let daily = AutoReplyRules(enabled: [.inHours], periodHours: 24, hourlyCap: 3)
        #expect(AutoReplyDecision.admit(AutoReplyHistory(lastSent: now - 23 * 3600), rules: daily, now: now) == .withinPeriod(hours: 24))
        #expect(AutoReplyDecision.admit(AutoReplyHistory(lastSent: now - 24 * 3600), rules: daily, now: now) == nil)
    }

    @Test func theSubmittedMessageCarriesTheRFC3834Fields() throws {
        let bytes = AutoReplyMessage.compose(
            from: "help@acme.test", to: try EmailAddress("jane@example.test"), subject: "Help\r\n with order", inReplyTo: "<q1@example.test>",
            text: "Thanks, Jane.", html: "<p>Thanks</p>", date: Date(timeIntervalSince1970: 1_800_000_000))
        let root = MIMEParser().parse(bytes)
        #expect(root.header["Auto-Submitted"] == "auto-replied")
        #expect(root.header["Subject"] == "Auto: Help with order")
        #expect(root.header["In-Reply-To"] == "<q1@example.test>")
        #expect(root.header["To"] == "<jane@example.test>")
        #expect(root.contentType.mimeType == "multipart/alternative")
        let texts = try root.parts.map { try $0.decodedText(from: MIMEBytesSource(bytes)) }
        #expect(texts == ["Thanks, Jane.", "<p>Thanks</p>"])
    }
}
