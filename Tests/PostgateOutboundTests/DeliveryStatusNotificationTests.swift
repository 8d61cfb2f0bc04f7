import Foundation
import PostgateMessage
@testable import PostgateStore
import Testing
@testable import PostgateOutbound

/// RFC 3464 notifications on bytes, parsed back with the MIME parser.
@Suite struct DeliveryStatusNotificationTests {
    @Test func multipartReportWithOneBlockPerRecipient() throws {
        let failed = Date(timeIntervalSince1970: 1_800_000_100)
        let report = OutboundFailureReport(
            messageID: 7, path: "/nonexistent", sender: "support@acme.test", createdAt: Date(timeIntervalSince1970: 1_800_000_000),
            recipients: [
                OutboundRecipientRecord(id: 1, address: "gone@example.net", state: .failed, attempts: 1, nextAttemptAt: failed,
                                        lastAttemptAt: failed, lastReply: "550 5.1.1 <gone@example.net>: no such user"),
                OutboundRecipientRecord(id: 2, address: "slow@example.org", state: .failed, attempts: 9, nextAttemptAt: failed,
                                        lastAttemptAt: failed, lastReply: "gave up after 9 attempts (queue lifetime over); last: 451 busy"),
            ])
        let original = Array("Subject: =?UTF-8?Q?R=C3=A9ponse?=\nTo: gone@example.net\n\nbody must not be quoted\n".utf8)
        let bytes = DeliveryStatusNotification(reportingMTA: "gw.test", date: failed)
            .message(for: report, originalHeader: OriginalHeaderReader.headerSection(original))
        let root = MIMEParser().parse(bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(root.contentType.mimeType == "multipart/report" && root.contentType.parameters["report-type"] == "delivery-status")
        #expect(root.header["To"] == "<support@acme.test>" && root.header["Auto-Submitted"] == "auto-replied")
        #expect(root.header["Subject"] == "Undelivered reply: Réponse")
        #expect(root.parts.map(\.contentType.mimeType) == ["text/plain", "message/delivery-status", "text/rfc822-headers"])
        let status = String(decoding: try root.parts[1].decodedBody(from: MIMEBytesSource(bytes)), as: UTF8.self)
        #expect(status.contains("Reporting-MTA: dns; gw.test\r\n"))
        #expect(status.contains("Final-Recipient: rfc822; gone@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1"))
        #expect(status.contains("Final-Recipient: rfc822; slow@example.org\r\nAction: failed\r\nStatus: 4.4.7\r\n"))
        #expect(text.contains("To: gone@example.net\r\n") && !text.contains("body must not be quoted"))
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
    }

    @Test func statusCodes() {
        #expect(DeliveryStatusNotification.status(of: "554 5.7.1 relay denied") == "5.7.1")
        #expect(DeliveryStatusNotification.status(of: "550 no such user") == "5.0.0")
        #expect(DeliveryStatusNotification.status(of: "domain x does not exist (NXDOMAIN)") == "5.0.0")
    }
}
