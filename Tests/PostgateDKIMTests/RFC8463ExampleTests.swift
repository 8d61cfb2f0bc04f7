import Foundation
import Testing
@testable import PostgateDKIM

/// RFC 8463 appendix A: the example message carries an Ed25519 and an RSA signature
/// (simple/simple, From/Subject/Date oversigned); both verify with the appendix's keys,
/// and a changed header or body breaks them.
struct RFC8463ExampleTests {
    private func verify(_ message: [UInt8], chunk: Int = 4096, records: [String: String]? = nil) -> [DKIMVerificationResult] {
        let records = records ?? [
            "brisbane._domainkey.football.example.com": RFC8463Example.ed25519Record,
            "test._domainkey.football.example.com": RFC8463Example.rsaRecord,
        ]
        var verifier = DKIMMessageVerifier()
        var offset = 0
        while offset < message.count {
            let end = min(message.count, offset + chunk)
            verifier.update(message[offset..<end])
            offset = end
        }
        return verifier.finish { selector, domain in
            records["\(selector)._domainkey.\(domain)"].map { .records([$0]) } ?? .none
        }
    }

    @Test(arguments: [1, 7, 64, 100_000])
    func bothExampleSignaturesVerify(chunk: Int) {
        let results = verify(RFC8463Example.message, chunk: chunk)
        #expect(results.map(\.status) == [.pass, .pass])
        #expect(results.map(\.selector) == ["brisbane", "test"])
        #expect(results[0].domain == "football.example.com")
    }

    @Test func changedSubjectFails() {
        let tampered = RFC8463Example.lines.map { $0 == "Subject: Is dinner ready?" ? "Subject: Is lunch ready?" : $0 }
        let results = verify(Array(tampered.map { $0 + "\r\n" }.joined().utf8))
        #expect(results.map(\.status) == [.fail, .fail])
        #expect(results.allSatisfy { $0.reason == "signature did not verify" })
    }

    @Test func changedBodyFails() {
        let tampered = RFC8463Example.lines.map { $0 == "Joe." ? "Jane." : $0 }
        let results = verify(Array(tampered.map { $0 + "\r\n" }.joined().utf8))
        #expect(results.map(\.status) == [.fail, .fail])
        #expect(results.allSatisfy { $0.reason == "body hash did not verify" })
    }

    @Test func addedFromFailsBecauseFromIsOversigned() {
        var lines = RFC8463Example.lines
        let index = lines.firstIndex { $0.hasPrefix("From:") }!
        lines.insert("From: Mallory <mallory@evil.example>", at: index)
        #expect(verify(Array(lines.map { $0 + "\r\n" }.joined().utf8)).map(\.status) == [.fail, .fail])
    }

    @Test func missingKeyWrongKeyAndDNSFailure() {
        let none = verify(RFC8463Example.message, records: [:])
        #expect(none.map(\.status) == [.permerror, .permerror])
        let swapped = verify(RFC8463Example.message, records: [
            "brisbane._domainkey.football.example.com": RFC8463Example.rsaRecord,
            "test._domainkey.football.example.com": "v=DKIM1; k=rsa; p=",
        ])
        #expect(swapped.map(\.status) == [.permerror, .permerror])
        #expect(swapped[1].reason == "key revoked")
        var verifier = DKIMMessageVerifier()
        verifier.update(RFC8463Example.message)
        let temporary = verifier.finish { _, _ in .temporaryFailure("timeout") }
        #expect(temporary.map(\.status) == [.temperror, .temperror])
    }

    @Test func unsignedMessageHasNoResults() {
        var verifier = DKIMMessageVerifier()
        verifier.update(Array("From: a@example.com\r\n\r\nhi\r\n".utf8))
        #expect(verifier.finish { _, _ in .none }.isEmpty)
        let field = DKIMAuthenticationResults.headerField(authservID: "mx.example", results: [])
        #expect(field == "Authentication-Results: mx.example;\r\n\tdkim=none\r\n")
    }

    @Test func authenticationResultsField() {
        let results = verify(RFC8463Example.message)
        let field = DKIMAuthenticationResults.headerField(authservID: "mx.example", results: results)
        #expect(field.hasPrefix("Authentication-Results: mx.example;\r\n\tdkim=pass header.d=football.example.com header.s=brisbane header.i=\"@football.example.com\" header.b=\"9/dsDChY\";"))
        #expect(field.hasSuffix("\r\n"))
    }
}
