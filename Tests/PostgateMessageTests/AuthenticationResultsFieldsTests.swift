import Testing
@testable import PostgateMessage

/// Finding and removing the Authentication-Results fields (RFC 8601) that claim our
/// authserv-id, on raw header bytes.
@Suite struct AuthenticationResultsFieldsTests {
    private let ours = "mx.acme.test"

    private func strip(_ text: String, endsMessage: Bool = true) -> String {
        let bytes = Array(text.utf8)
        let ranges = AuthenticationResultsFields.ranges(claiming: ours, in: bytes, endsMessage: endsMessage)
        return String(decoding: AuthenticationResultsFields.removing(ranges, from: bytes), as: UTF8.self)
    }

    @Test func fieldsNamingUsGoOthersStay() {
        let message = "Received: from a by b; Mon, 23 Nov 2026 09:00:00 +0000\r\n"
            + "Authentication-Results: mx.acme.test; dkim=pass header.d=bank.test\r\n"
            + "Authentication-Results: mx.google.test; dkim=pass header.d=bank.test\r\n"
            + "authentication-RESULTS: MX.Acme.Test.; spf=pass\r\n"
            + "From: a@bank.test\r\n"
            + "\r\n"
            + "Authentication-Results: mx.acme.test; dkim=pass (in the body: not a field)\r\n"
        #expect(strip(message) == "Received: from a by b; Mon, 23 Nov 2026 09:00:00 +0000\r\n"
            + "Authentication-Results: mx.google.test; dkim=pass header.d=bank.test\r\n"
            + "From: a@bank.test\r\n"
            + "\r\n"
            + "Authentication-Results: mx.acme.test; dkim=pass (in the body: not a field)\r\n")
    }

    @Test func aFoldedFieldGoesWithAllItsLines() {
        let message = "Subject: hi\r\n"
            + "Authentication-Results:\r\n  mx.acme.test;\r\n\tdkim=pass header.d=bank.test;\r\n\tspf=pass smtp.mailfrom=bank.test\r\n"
            + "To: b@acme.test\r\n\r\nbody\r\n"
        #expect(strip(message) == "Subject: hi\r\nTo: b@acme.test\r\n\r\nbody\r\n")
    }

    @Test func versionsCommentsAndQuotedIDsAreSeenThrough() {
        #expect(AuthenticationResultsFields.authservID(ofValue: Array(" mx.acme.test 1; dkim=pass".utf8)) == ours)
        #expect(AuthenticationResultsFields.authservID(ofValue: Array(" (checked (twice)) mx.acme.test; none".utf8)) == ours)
        #expect(AuthenticationResultsFields.authservID(ofValue: Array(" \"MX.acme.test\"; dkim=pass".utf8)) == ours)
        #expect(AuthenticationResultsFields.authservID(ofValue: Array("mx.acme.test;dkim=pass".utf8)) == ours)
        #expect(AuthenticationResultsFields.authservID(ofValue: Array(" mx.acme.test.example; dkim=pass".utf8)) == "mx.acme.test.example")
        #expect(AuthenticationResultsFields.authservID(ofValue: Array(" ; dkim=pass".utf8)) == nil)
        let message = "Authentication-Results: mx.acme.test 1; dkim=pass\r\n"
            + "Authentication-Results : (forged)\r\n mx.acme.test; dkim=pass\r\n"
            + "Authentication-Results: \"mx.acme.test\" ; dkim=pass\r\n"
            + "Authentication-Results: mx.acme.test.example; dkim=pass\r\n"
            + "X-Authentication-Results: mx.acme.test; dkim=pass\r\n\r\n"
        #expect(strip(message) == "Authentication-Results: mx.acme.test.example; dkim=pass\r\n"
            + "X-Authentication-Results: mx.acme.test; dkim=pass\r\n\r\n")
    }

    @Test func bareLineFeedsAndAMessageWithoutBody() {
        #expect(strip("From: a@b.test\nAuthentication-Results: mx.acme.test; dkim=pass\n\nbody\n") == "From: a@b.test\n\nbody\n")
        #expect(strip("From: a@b.test\r\nAuthentication-Results: mx.acme.test; dkim=pass\r\n") == "From: a@b.test\r\n")
        #expect(strip("From: a@b.test\r\nAuthentication-Results: mx.acme.test; dkim=pass") == "From: a@b.test\r\n")
    }

    @Test func aFieldCutByTheEndOfAPrefixIsLeftWhole() {
        // Only the start of a message: the last field may continue past what was read.
        let head = "From: a@b.test\r\nAuthentication-Results: mx.acme.test; dkim=pass\r\n"
        #expect(strip(head, endsMessage: false) == head)
        #expect(strip(head + " spf=pass\r\nTo: c@d.test\r\n", endsMessage: false) == "From: a@b.test\r\nTo: c@d.test\r\n")
    }
}
