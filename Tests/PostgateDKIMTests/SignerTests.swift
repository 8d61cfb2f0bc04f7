import Foundation
import Testing
@testable import PostgateDKIM

/// Messages signed by `DKIMSigner` verify with `DKIMMessageVerifier` for both algorithms
/// and all canonicalizations; the signature covers From twice and has no l=.
struct SignerTests {
    static let header = [
        "From: Acme Support <support@acme.example>",
        "To: Customer <c@customer.example>",
        "Subject:   Re: your  order\r\n\tnumber 42",
        "Date: Mon, 23 Nov 2026 09:00:00 +0000",
        "Message-ID: <r1@acme.example>",
        "X-Not-Signed: yes",
    ]
    static let body = "Hello,  \r\n\r\nyour order ships today.\r\n\r\n\r\n"

    private func verify(_ signed: String, record: String, mangle: (String) -> String = { $0 }) -> DKIMVerificationResult? {
        var verifier = DKIMMessageVerifier()
        verifier.update(Array(mangle(signed).utf8))
        return verifier.finish { _, _ in .records([record]) }.first
    }

    private func signedMessage(_ signer: DKIMSigner) throws -> String {
        let field = try signer.sign(headerLines: Self.header, bodyChunks: [Array(Self.body.utf8)])
        return field + Self.header.map { $0 + "\r\n" }.joined() + "\r\n" + Self.body
    }

    @Test(arguments: [DKIMCanonicalization.relaxed, .simple])
    func rsaAndEd25519SignaturesVerify(canonicalization: DKIMCanonicalization) throws {
        for key in [try DKIMPrivateKey.generateRSA(bits: 1024), DKIMPrivateKey.generateEd25519()] {
            var signer = DKIMSigner(domain: "acme.example", selector: "s1", key: key)
            signer.canonicalization = DKIMCanonicalizationPair(header: canonicalization, body: canonicalization)
            let signed = try signedMessage(signer)
            #expect(verify(signed, record: key.keyRecord)?.status == .pass)
            #expect(verify(signed, record: key.keyRecord) { $0.replacingOccurrences(of: "ships today", with: "ships later") }?.status == .fail)
        }
    }

    @Test func relaxedSurvivesRefoldingButSimpleDoesNot() throws {
        let key = DKIMPrivateKey.generateEd25519()
        var signer = DKIMSigner(domain: "acme.example", selector: "s1", key: key)
        let refold: (String) -> String = { $0.replacingOccurrences(of: "Subject:   Re: your  order\r\n\tnumber 42", with: "Subject: Re: your order number 42") }
        #expect(verify(try signedMessage(signer), record: key.keyRecord, mangle: refold)?.status == .pass)
        signer.canonicalization = DKIMCanonicalizationPair(header: .simple, body: .simple)
        #expect(verify(try signedMessage(signer), record: key.keyRecord, mangle: refold)?.status == .fail)
    }

    @Test func fieldHasTheUsualTagsFromTwiceAndNoLength() throws {
        let signer = DKIMSigner(domain: "Acme.Example", selector: "S1", key: .generateEd25519())
        let field = try signer.sign(headerLines: Self.header, bodyChunks: [Array(Self.body.utf8)], time: Date(timeIntervalSince1970: 1_800_000_000))
        let parsed = try DKIMSignatureField(DKIMHeaderField(field))
        #expect(parsed.signedHeaders == ["from", "from", "subject", "date", "message-id", "to"])
        #expect(parsed.canonicalization == DKIMCanonicalizationPair(header: .relaxed, body: .relaxed))
        #expect(parsed.domain == "acme.example" && parsed.selector == "s1")
        #expect(parsed.bodyLength == nil && !field.contains("l="))
        #expect(parsed.timestamp == Date(timeIntervalSince1970: 1_800_000_000))
        #expect(field.hasSuffix("\r\n") && field.split(separator: "\r\n").allSatisfy { $0.utf8.count <= 998 })
    }

    @Test func bodyHashIsTheSameWhateverTheChunks() throws {
        let body = Array((String(repeating: "line with  spaces \t\r\n", count: 5000) + "\r\n\r\n").utf8)
        var whole = DKIMBodyHasher(canonicalization: .relaxed)
        whole.update(body)
        let expected = whole.finalize()
        for size in [1, 3, 1000, 65_536] {
            var hasher = DKIMBodyHasher(canonicalization: .relaxed)
            var offset = 0
            while offset < body.count {
                hasher.update(body[offset..<min(body.count, offset + size)])
                offset += size
            }
            #expect(hasher.finalize() == expected)
        }
    }

    @Test func signingAFileStreamsIt() throws {
        let key = DKIMPrivateKey.generateEd25519()
        let signer = DKIMSigner(domain: "acme.example", selector: "s1", key: key)
        let message = Self.header.map { $0 + "\r\n" }.joined() + "\r\n" + String(repeating: "x", count: 200_000) + "\r\n"
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dkim-\(UUID()).eml").path
        try message.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let field = try signer.sign(messageFile: path)
        #expect(verify(field + message, record: key.keyRecord)?.status == .pass)
    }

    @Test func knownBodyHashes() {
        // The RFC 8463 example body, simple: bh=4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=
        var hasher = DKIMBodyHasher(canonicalization: .simple)
        hasher.update(Array("Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n".utf8))
        #expect(Data(hasher.finalize()).base64EncodedString() == "4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=")
        // An empty body, relaxed: the SHA-256 of nothing (RFC 6376 section 3.4.4).
        var empty = DKIMBodyHasher(canonicalization: .relaxed)
        #expect(Data(empty.finalize()).base64EncodedString() == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
    }
}
