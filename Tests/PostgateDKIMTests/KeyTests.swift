import Foundation
import Testing
@testable import PostgateDKIM

/// Key import (PKCS#1, PKCS#8, Ed25519; clear errors for everything else), key records,
/// tag lists and the TXT value split into 255-character strings.
struct KeyTests {
    @Test func importsRSAPKCS1AndPKCS8AndEd25519() throws {
        let pkcs1 = try DKIMPrivateKey(pem: TestKeys.rsa1024PKCS1)
        #expect(pkcs1.summary == "RSA 1024")
        let pkcs8 = try DKIMPrivateKey(pem: TestKeys.rsa2048PKCS8)
        #expect(pkcs8.summary == "RSA 2048")
        let ed = try DKIMPrivateKey(pem: TestKeys.ed25519PKCS8)
        #expect(ed.algorithm == .ed25519SHA256)
        // The stored form reads back as the same key.
        for key in [pkcs1, pkcs8, ed] {
            #expect(try DKIMPrivateKey(pem: key.pemRepresentation).publicKeyBase64 == key.publicKeyBase64)
        }
    }

    @Test func refusesWhatIsNotAUsableKeyNamingWhy() {
        #expect(throws: DKIMError.rsaKeySize(bits: 512)) { try DKIMPrivateKey(pem: TestKeys.rsa512PKCS1) }
        #expect(throws: DKIMError.rsaKeySize(bits: 3072)) { try DKIMPrivateKey(pem: TestKeys.rsa3072PKCS8) }
        #expect(throws: DKIMError.unsupportedKeyType("EC (ECDSA)")) { try DKIMPrivateKey(pem: TestKeys.ecP256) }
        #expect(throws: DKIMError.encryptedKey) { try DKIMPrivateKey(pem: TestKeys.encryptedPKCS8) }
        #expect(throws: DKIMError.self) { try DKIMPrivateKey(pem: "hello") }
        let damaged = TestKeys.rsa1024PKCS1.replacingOccurrences(of: "\n", with: "\n", options: [], range: nil)
            .replacingOccurrences(of: "MII", with: "MIA")
        #expect(throws: DKIMError.self) { try DKIMPrivateKey(pem: damaged) }
        #expect(DKIMError.rsaKeySize(bits: 512).description == "the RSA key has 512 bits; DKIM keys must have 1024 to 2048 bits")
    }

    @Test func generationSizes() throws {
        #expect(try DKIMPrivateKey.generateRSA(bits: 2048).summary == "RSA 2048")
        #expect(throws: DKIMError.unsupportedKeySize(bits: 4096)) { try DKIMPrivateKey.generateRSA(bits: 4096) }
    }

    @Test func keyRecordOfAGeneratedKeyParses() throws {
        for key in [try DKIMPrivateKey.generateRSA(bits: 1024), .generateEd25519()] {
            let record = try DKIMKeyRecord(key.keyRecord)
            #expect(record.key?.algorithm == key.algorithm)
            #expect(record.tags.base64("p") == key.publicKeyBase64)
        }
    }

    @Test func malformedKeyRecords() {
        #expect(throws: DKIMError.self) { try DKIMKeyRecord("v=DKIM2; p=abc") }
        #expect(throws: DKIMError.self) { try DKIMKeyRecord("k=rsa; p=!!!") }
        #expect(throws: DKIMError.self) { try DKIMKeyRecord("k=dsa; p=AAAA") }
        #expect(throws: DKIMError.self) { try DKIMKeyRecord("k=rsa") }
        #expect(throws: DKIMError.self) { try DKIMKeyRecord("k=rsa; h=sha1; p=AAAA") }
        #expect(throws: DKIMError.self) { try DKIMKeyRecord("p=A; p=B") }
        #expect((try? DKIMKeyRecord("v=DKIM1; k=rsa; p="))?.key == nil)
        #expect((try? DKIMKeyRecord("v=DKIM1; t=y; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="))?.testing == true)
    }

    @Test func tagList() throws {
        let tags = try DKIMTagList(" v = 1 ;a=rsa-sha256;\r\n\tb= abc\r\n def ; ")
        #expect(tags["v"] == "1")
        #expect(tags["a"] == "rsa-sha256")
        #expect(tags.base64("b") == "abcdef")
        #expect(throws: DKIMError.self) { try DKIMTagList("v=1; novalue") }
        #expect(throws: DKIMError.self) { try DKIMTagList("v=1; v=2") }
    }

    @Test func txtValueSplitIn255CharacterStrings() throws {
        let record = try DKIMPrivateKey.generateRSA(bits: 2048).keyRecord
        let strings = DKIMKeyRecord.zoneFileStrings(record)
        #expect(record.count > 255)
        #expect(strings.count == 2 && strings[0].count == 255)
        #expect(strings.joined() == record)
        #expect(DKIMKeyRecord.zoneFileStrings("short") == ["short"])
    }

    @Test func removingTheSignatureValueKeepsBH() {
        let raw = Array("DKIM-Signature: a=1; bh=XYZ; b=abc\r\n def\r\n".utf8)
        #expect(String(decoding: DKIMSignatureField.removingSignatureValue(raw), as: UTF8.self) == "DKIM-Signature: a=1; bh=XYZ; b=\r\n")
        let middle = Array("DKIM-Signature: b = abc ; bh=XYZ\r\n".utf8)
        #expect(String(decoding: DKIMSignatureField.removingSignatureValue(middle), as: UTF8.self) == "DKIM-Signature: b =; bh=XYZ\r\n")
    }

    @Test func selectors() {
        #expect(DKIMSelector.validated("S2026") == "s2026")
        #expect(DKIMSelector.validated("a.b-c") == "a.b-c")
        #expect(DKIMSelector.validated("../x") == nil)
        #expect(DKIMSelector.validated("-a") == nil)
        #expect(DKIMSelector.validated("") == nil)
    }
}
