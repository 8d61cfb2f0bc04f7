import Foundation
import PostgateMessage
import Testing
@testable import PostgateStore
@testable import PostgateMaildir

@Suite struct DirectoryTests {
    let fixture: StoreFixture
    var store: MailStore { fixture.store }

    init() throws {
        fixture = try StoreFixture()
    }

    @Test func addsAndListsDomains() throws {
        try store.addDomain(DomainName("Acme.TEST"))
        try fixture.host("beta.test", "a", "b")
        let domains = try store.domains()
        #expect(domains.map(\.name) == ["acme.test", "beta.test"])
        #expect(domains.map(\.addressCount) == [0, 2])
    }

    @Test func refusesADuplicateDomain() throws {
        try store.addDomain(DomainName("acme.test"))
        #expect(throws: StoreError.domainAlreadyHosted(try DomainName("acme.test"))) {
            try store.addDomain(DomainName("ACME.test"))
        }
        #expect(try store.domains().count == 1)
    }

    @Test func internationalisedDomainMatchesInBothForms() throws {
        try store.addDomain(DomainName("bücher.test"))
        #expect(throws: StoreError.self) { try store.addDomain(DomainName("xn--bcher-kva.test")) }
        #expect(try store.domains().map(\.unicodeName) == ["bücher.test"])
        let record = try store.addAddress(EmailAddress("info@xn--bcher-kva.test"))
        #expect(record.email == "info@xn--bcher-kva.test")
        #expect(record.mailboxPath == "maildir/xn--bcher-kva.test/info")
        guard case .accept(let target) = try store.resolveRecipient(EmailAddress("Info@BÜCHER.test")) else {
            Issue.record("U-label form not accepted")
            return
        }
        #expect(target.mailboxPath == record.mailboxPath)

        try store.addDomain(DomainName("xn--mnchen-3ya.test"))
        try store.addAddress(EmailAddress("a@münchen.test"))
        #expect(try store.address(EmailAddress("a@xn--mnchen-3ya.test")) != nil)
    }

    @Test func addressNeedsAHostedDomainAndChangesNothingOtherwise() throws {
        #expect(throws: StoreError.domainNotHosted(try DomainName("foo.test"))) {
            try store.addAddress(EmailAddress("x@foo.test"))
        }
        let error = StoreError.domainNotHosted(try DomainName("foo.test"))
        #expect(error.description == "domain foo.test is not hosted; add it with `postgate domain add foo.test`")
        #expect(fixture.names("maildir") == [])
        #expect(try fixture.sql { try Int.fetchOne($0, sql: "SELECT count(*) FROM mailbox") } == 0)
    }

    @Test func aliasesResolveToTheirAddress() throws {
        try fixture.host("acme.test")
        try fixture.host("other.test")
        let record = try store.addAddress(
            EmailAddress("Support@acme.test"), settings: named("Acme Support"),
            aliases: [EmailAddress("help@acme.test"), EmailAddress("Desk@other.test")])
        #expect(record.email == "support@acme.test")
        #expect(record.displayName == "Acme Support")
        #expect(record.aliases == ["help@acme.test", "desk@other.test"])
        #expect(record.enabled)
        #expect(record.messageCount == 0)
        let viaAlias = try fixture.target("DESK@other.test")
        #expect(viaAlias.address == (try EmailAddress("support@acme.test")))
        #expect(viaAlias == (try fixture.target("support@ACME.test")))
        #expect(try store.address(EmailAddress("help@acme.test"))?.email == "support@acme.test")
    }

    @Test func refusesEveryClashAndAddsNothing() throws {
        try fixture.host("acme.test", "support")
        try store.addAlias(EmailAddress("help@acme.test"), to: EmailAddress("support@acme.test"))

        #expect(throws: StoreError.addressInUse(try EmailAddress("SUPPORT@acme.test"), as: .address)) {
            try store.addAddress(EmailAddress("SUPPORT@acme.test"))
        }
        let help = try EmailAddress("help@acme.test")
        let owner = try EmailAddress("support@acme.test")
        #expect(throws: StoreError.addressInUse(help, as: .alias(of: owner))) {
            try store.addAddress(help)
        }
        #expect(StoreError.addressInUse(help, as: .alias(of: owner)).description
            == "address help@acme.test is already in use (as an alias of support@acme.test)")
        #expect(throws: StoreError.addressInUse(owner, as: .address)) {
            try store.addAddress(EmailAddress("sales@acme.test"), aliases: [owner])
        }
        #expect(throws: StoreError.domainNotHosted(try DomainName("nope.test"))) {
            try store.addAddress(EmailAddress("sales@acme.test"), aliases: [EmailAddress("ok@acme.test"), EmailAddress("s@nope.test")])
        }
        #expect(throws: StoreError.addressGivenTwice(try EmailAddress("Sales@acme.test"))) {
            try store.addAddress(EmailAddress("sales@acme.test"), aliases: [EmailAddress("Sales@acme.test")])
        }
        #expect(throws: StoreError.addressInUse(help, as: .alias(of: owner))) {
            try store.addAlias(help, to: owner)
        }
        #expect(try store.addresses().map(\.email) == ["support@acme.test"])
        #expect(try store.address(EmailAddress("ok@acme.test")) == nil)
        #expect(fixture.names("maildir/acme.test") == ["support"])
    }

    @Test func resolvesEveryCase() throws {
        try fixture.host("acme.test", "support")
        try store.addAlias(EmailAddress("help@acme.test"), to: EmailAddress("support@acme.test"))
        #expect(try store.resolveRecipient(EmailAddress("nobody@acme.test")) == .unknownUser)
        #expect(try store.resolveRecipient(EmailAddress("support@elsewhere.test")) == .domainNotHosted)
        try store.setEnabled(EmailAddress("support@acme.test"), false)
        #expect(try store.resolveRecipient(EmailAddress("support@acme.test")) == .disabled)
        #expect(try store.resolveRecipient(EmailAddress("help@acme.test")) == .disabled)
        let record = try store.setEnabled(EmailAddress("support@acme.test"), true)
        #expect(record.enabled)
        #expect(try fixture.target("help@acme.test").mailboxPath == "maildir/acme.test/support")
    }

    @Test func editsAliasesAndDisplayName() throws {
        try fixture.host("acme.test", "support")
        let support = try EmailAddress("support@acme.test")
        let help = try EmailAddress("help@acme.test")
        #expect(try store.addAlias(help, to: support).aliases == ["help@acme.test"])
        #expect(throws: StoreError.notAnAddress(help, aliasOf: support)) { try store.removeAddress(help) }
        #expect(throws: StoreError.aliasNotFound(try EmailAddress("x@acme.test"), of: support)) {
            try store.removeAlias(EmailAddress("x@acme.test"), from: support)
        }
        #expect(try store.removeAlias(help, from: support).aliases == [])
        #expect(try store.resolveRecipient(help) == .unknownUser)
        #expect(try store.setDisplayName(support, "Acme").displayName == "Acme")
        #expect(try store.setDisplayName(support, nil).displayName == nil)
        #expect(throws: StoreError.addressNotFound(try EmailAddress("x@acme.test"))) {
            try store.setEnabled(EmailAddress("x@acme.test"), false)
        }
    }

    @Test func removingADomainNeedsForce() throws {
        try fixture.host("acme.test", "support")
        try fixture.host("other.test", "sales")
        try store.addAlias(EmailAddress("help@acme.test"), to: EmailAddress("sales@other.test"))
        let acme = try DomainName("acme.test")
        #expect(throws: StoreError.domainNotEmpty(acme, addresses: 1, aliases: 1)) {
            try store.removeDomain(acme)
        }
        try store.removeDomain(acme, force: true)
        #expect(try store.domains().map(\.name) == ["other.test"])
        #expect(try store.addresses().map(\.email) == ["sales@other.test"])
        #expect(try store.address(EmailAddress("sales@other.test"))?.aliases == [])
        #expect(fixture.names("maildir/acme.test/support") == ["cur", "new", "postgate-uidvalidity", "tmp"])
        #expect(throws: StoreError.domainNotHosted(acme)) { try store.removeDomain(acme) }
        try store.removeAddress(EmailAddress("sales@other.test"))
        try store.removeDomain(DomainName("other.test"))
        #expect(try store.domains().isEmpty)
    }

    @Test func listsAddressesByDomain() throws {
        try fixture.host("acme.test", "b", "a")
        try fixture.host("other.test", "c")
        #expect(try store.addresses().map(\.email) == ["a@acme.test", "b@acme.test", "c@other.test"])
        #expect(try store.addresses(domain: DomainName("other.test")).map(\.email) == ["c@other.test"])
        #expect(throws: StoreError.domainNotHosted(try DomainName("x.test"))) {
            try store.addresses(domain: DomainName("x.test"))
        }
    }

    @Test func createsAMaildirWithItsUIDValidity() throws {
        let records = try fixture.host("acme.test", "support", "sales")
        let first = try store.mailboxState(mailboxPath: records[0].mailboxPath)
        let second = try store.mailboxState(mailboxPath: records[1].mailboxPath)
        #expect(first.uidNext == 1)
        #expect(second.uidValidity > first.uidValidity)
        #expect(abs(Double(first.uidValidity) - Date().timeIntervalSince1970) < 60)
        let file = fixture.contents("maildir/acme.test/support/postgate-uidvalidity")
        #expect(file == Array("\(first.uidValidity)\n".utf8))
        #expect(fixture.names("maildir/acme.test/support") == ["cur", "new", "postgate-uidvalidity", "tmp"])
    }

    @Test func localPartDirectoriesAreSafeAndDistinct() {
        #expect(DataDirectory.localPartDirectory("Support") == "support")
        #expect(DataDirectory.localPartDirectory("first.last+tag_x-y") == "first.last+tag_x-y")
        #expect(DataDirectory.localPartDirectory(".hidden") == "%2Ehidden")
        #expect(DataDirectory.localPartDirectory("..") == "%2E.")
        #expect(DataDirectory.localPartDirectory("a/b c%") == "a%2Fb%20c%25")
        #expect(DataDirectory.localPartDirectory("José") == "jos%C3%A9")
    }

    @Test func localPartDirectoriesDecodeBackToTheirLocalPart() {
        for localPart in ["support", "first.last+tag_x-y", ".hidden", "..", "a/b c%", "josé"] {
            #expect(DataDirectory.localPart(fromDirectory: DataDirectory.localPartDirectory(localPart)) == localPart)
        }
        // Names `localPartDirectory` never makes: upper case, a bad escape, bytes that are not UTF-8.
        for name in ["Support", "a%2", "a%zz", "%FF", "a%2fb", ""] {
            #expect(DataDirectory.localPart(fromDirectory: name) == nil)
        }
    }

    @Test func refusesAnUnwritableDataDirectory() throws {
        let file = fixture.root + "/plain-file"
        #expect(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        let path = file + "/data"
        #expect {
            try MailStore.open(directory: path)
        } throws: { error in
            guard case .dataDirectoryNotWritable(let reported, let reason) = error as? StoreError else { return false }
            let line = (error as! StoreError).description
            return reported == path && reason == "Not a directory"
                && line.hasPrefix("data directory \(path) is not writable: ") && !line.contains("\n")
        }
    }
}
