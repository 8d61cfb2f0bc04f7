import Foundation
import PostgateMessage
import Testing
@testable import PostgateStore
@testable import PostgateMaildir
@testable import PostgateDirectory

/// DKIM keys in the store: the private key file (mode 0600, durable), the `dkim_key` row
/// with its verification state, and what removing the domain does.
@Suite struct DKIMKeyStoreTests {
    let fixture: StoreFixture
    var store: MailStore { fixture.store }
    let pem = "-----BEGIN PRIVATE KEY-----\nnot checked by the store\n-----END PRIVATE KEY-----\n"

    init() throws {
        fixture = try StoreFixture()
        try fixture.host("acme.test")
    }

    private func add(_ selector: String, at seconds: Double = 1000) throws -> DKIMKeyEntry {
        try store.addDKIMKey(domain: DomainName("acme.test"), selector: selector, algorithm: "rsa-sha256",
                             privateKeyPEM: pem, publicRecord: "v=DKIM1; k=rsa; p=AAAA", now: Date(timeIntervalSince1970: seconds))
    }

    @Test func keyFileIsPrivateAndRowIsPending() throws {
        let entry = try add("s1")
        #expect(entry.keyPath == "dkim/acme.test/s1.pem")
        #expect(entry.status == "Pending" && entry.checkCount == 0 && entry.recordName == "s1._domainkey.acme.test")
        let attributes = try FileManager.default.attributesOfItem(atPath: fixture.dataPath + "/" + entry.keyPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try store.dkimPrivateKeyPEM(entry) == pem)
        #expect(try store.dkimStatusByDomain() == ["acme.test": "Pending"])
    }

    @Test func refusesADuplicateSelectorAndAnUnknownDomain() throws {
        _ = try add("s1")
        #expect(throws: StoreError.dkimSelectorExists(try DomainName("acme.test"), selector: "s1")) { try add("s1") }
        #expect(throws: StoreError.domainNotHosted(try DomainName("other.test"))) {
            try store.addDKIMKey(domain: DomainName("other.test"), selector: "s1", algorithm: "rsa-sha256", privateKeyPEM: pem, publicRecord: "")
        }
        #expect(try store.dkimKeys().count == 1)
    }

    @Test func checksAreRecordedAndDueKeysFound() throws {
        let first = try add("s1", at: 1000)
        _ = try add("s2", at: 2000)
        #expect(try store.dkimKeysDue(at: Date(timeIntervalSince1970: 1500)).map(\.selector) == ["s1"])
        let checked = try store.recordDKIMCheck(
            DKIMCheckRecord(status: "Success", reason: nil, checkedAt: Date(timeIntervalSince1970: 1500), nextCheckAt: nil), for: first)
        #expect(checked.status == "Success" && checked.checkCount == 1 && checked.nextCheckAt == nil)
        #expect(checked.lastCheckAt == Date(timeIntervalSince1970: 1500))
        #expect(try store.dkimKeysDue(at: Date(timeIntervalSince1970: 5000)).map(\.selector) == ["s2"])
        // A verified key signs, so the domain shows Success though a newer key is Pending.
        #expect(try store.dkimStatusByDomain() == ["acme.test": "Success"])
        #expect(try store.dkimKey(domain: DomainName("acme.test")).selector == "s2")
    }

    @Test func keysGoWithTheirDomain() throws {
        _ = try add("s1")
        try store.removeDomain(DomainName("acme.test"), force: true)
        #expect(try store.dkimKeys().isEmpty)
    }
}
