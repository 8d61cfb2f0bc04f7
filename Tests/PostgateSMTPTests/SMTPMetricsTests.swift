import NIOCore
import PostgateMetrics
import Testing
@testable import PostgateSMTP

/// What an SMTP listener counts, read back from the exposition of a registry of the test's
/// own (no global metrics system).
@Suite struct SMTPMetricsTests {
    typealias Harness = SMTPServerHandlerTests.Harness

    static func value(_ series: String, in metrics: GatewayMetrics) -> Double? {
        metrics.sample(series)
    }

    @Test(arguments: [
        (SMTPReply(550, "5.7.1", "Relaying denied"), SMTPRefusalReason.Context.recipient, false, SMTPRefusalReason.relay),
        (SMTPReply(550, "5.7.1", "not a channel address"), .other, false, .policy),
        (SMTPReply(550, "5.1.1", "no such user"), .recipient, false, .unknownUser),
        (SMTPReply(550, "5.2.1", "mailbox disabled"), .recipient, false, .unknownUser),
        (SMTPReply(552, "5.3.4", "too big"), .messageData, false, .size),
        (SMTPReply(550, "5.6.0", "bare CR or LF"), .messageData, false, .smuggling),
        (SMTPReply(554, "5.5.2", "bare CR or LF"), .bareLineEnding, false, .smuggling),
        (SMTPReply(530, "5.7.0", "Must issue a STARTTLS command first"), .other, false, .tlsRequired),
        (SMTPReply(530, "5.7.0", "Authentication required"), .other, true, .authentication),
        (SMTPReply(535, "5.7.8", "invalid"), .other, true, .authentication),
        (SMTPReply(452, "4.5.3", "Too many recipients"), .recipient, false, .limit),
        (SMTPReply(421, "4.7.0", "Too many errors"), .other, false, .limit),
        (SMTPReply(451, "4.3.0", "Local error"), .messageData, false, .temporary),
        (SMTPReply(503, "5.5.1", "Send MAIL FROM first"), .other, false, .protocol),
    ])
    func refusalReasons(reply: SMTPReply, context: SMTPRefusalReason.Context, tls: Bool, expected: SMTPRefusalReason) {
        #expect(SMTPRefusalReason(reply: reply, context: context, tlsActive: tls) == expected)
    }

    @Test func sessionCountsTransactionsRefusalsAndLatency() throws {
        let metrics = GatewayMetrics()
        let h = try Harness(metrics: SMTPMetrics(listener: "mx", factory: metrics.factory)) { $0.maxMessageSize = 200 }
        try h.send("EHLO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<nobody@hosted.test>\r\nRCPT TO:<b@hosted.test>\r\nDATA\r\n")
        try h.send("Subject: ok\r\n\r\nbody\r\n.\r\n")
        try h.send("MAIL FROM:<a@c.test>\r\nRCPT TO:<b@hosted.test>\r\nDATA\r\n")
        try h.send("Subject: big\r\n\r\n" + String(repeating: "y", count: 300) + "\r\n.\r\n")
        #expect(try h.codes() == ["220", "250", "250", "550", "250", "354", "250", "250", "250", "354", "552"])

        let mx = "listener=\"mx\""
        #expect(Self.value("postgate_smtp_sessions_opened_total{\(mx)}", in: metrics) == 1)
        #expect(Self.value("postgate_smtp_sessions_closed_total{\(mx)}", in: metrics) == 0)
        #expect(Self.value("postgate_smtp_transactions_total{\(mx),outcome=\"accepted\"}", in: metrics) == 1)
        #expect(Self.value("postgate_smtp_transactions_total{\(mx),outcome=\"refused\"}", in: metrics) == 1)
        #expect(Self.value("postgate_smtp_transactions_total{\(mx),outcome=\"failed\"}", in: metrics) == 0)
        #expect(Self.value("postgate_smtp_refusals_total{\(mx),reason=\"unknown_user\"}", in: metrics) == 1)
        #expect(Self.value("postgate_smtp_refusals_total{\(mx),reason=\"size\"}", in: metrics) == 1)
        #expect(Self.value("postgate_smtp_refusals_total{\(mx),reason=\"relay\"}", in: metrics) == 0)
        #expect(Self.value("postgate_smtp_transaction_duration_seconds_count{\(mx)}", in: metrics) == 1)
        #expect(Self.value("postgate_smtp_commit_duration_seconds_count{\(mx)}", in: metrics) == 1)

        _ = try h.channel.finish()
        #expect(Self.value("postgate_smtp_sessions_closed_total{\(mx)}", in: metrics) == 1)
    }

    @Test func smugglingIsCountedAsARefusedTransaction() throws {
        let metrics = GatewayMetrics()
        let h = try Harness(metrics: SMTPMetrics(listener: "mx", factory: metrics.factory))
        try h.send("EHLO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@hosted.test>\r\nDATA\r\n")
        try h.send("Subject: x\r\n\r\nbody\n.\nMAIL FROM:<evil@c.test>\r\n")
        #expect(try h.codes().last == "554")
        let mx = "listener=\"mx\""
        #expect(Self.value("postgate_smtp_refusals_total{\(mx),reason=\"smuggling\"}", in: metrics) == 1)
        #expect(Self.value("postgate_smtp_transactions_total{\(mx),outcome=\"refused\"}", in: metrics) == 1)
        #expect(Self.value("postgate_smtp_transactions_total{\(mx),outcome=\"accepted\"}", in: metrics) == 0)
    }
}
