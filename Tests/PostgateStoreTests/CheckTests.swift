import Foundation
import GRDB
import PostgateMessage
import Testing
@testable import PostgateStore
@testable import PostgateMaildir
@testable import PostgateIndex

/// `MailStore.check()`: what it reports for a sound store and for each kind of damage.
@Suite struct CheckTests {
    let fixture: StoreFixture
    var store: MailStore { fixture.store }
    let mailbox = "maildir/acme.test/support"

    init() throws {
        fixture = try StoreFixture()
        try fixture.host("acme.test", "support")
    }

    private func findings(_ severity: CheckFinding.Severity) throws -> [CheckFinding] {
        try store.check().filter { $0.severity == severity }
    }

    @Test func soundStoreHasNoWarningsOrErrors() throws {
        try fixture.deliver(sampleMessage(), to: ["support@acme.test"])
        store.journal.stop()  // its file flushed and its journal row gone
        let all = try store.check()
        #expect(all.allSatisfy { $0.severity == .ok })
        #expect(all.contains(CheckFinding("mailbox \(mailbox)", .ok, "1 message(s), index and Maildir agree")))
        #expect(all.contains { $0.subject == "database" })
    }

    @Test func missingFileIsAnErrorAndOrphanAWarning() throws {
        let stored = try fixture.deliver(sampleMessage(), to: ["support@acme.test"])
        let path = fixture.dataPath + "/" + mailbox + "/new/" + stored[0].filename
        let content = try Data(contentsOf: URL(fileURLWithPath: path))
        try FileManager.default.removeItem(atPath: path)
        store.journal.stop()
        let errors = try findings(.error)
        #expect(errors.count == 1 && errors[0].detail.contains(stored[0].filename))

        try content.write(to: URL(fileURLWithPath: fixture.dataPath + "/" + mailbox + "/cur/stray,S=3,U=9:2,S"))
        try content.write(to: URL(fileURLWithPath: path))
        let warnings = try findings(.warning)
        #expect(warnings.count == 1 && warnings[0].detail.hasPrefix("1 file(s) not in the index") && warnings[0].detail.hasSuffix("stray,S=3,U=9"))
        #expect(try findings(.error).isEmpty)
    }

    @Test func leftoverInTmpIsAWarning() throws {
        let message = try store.beginMessage()
        try message.write(sampleMessage())
        _ = try message.seal(syncing: [], with: store.journal)
        let target = try fixture.target("support@acme.test")
        try store.data.maildir(target.mailboxPath).linkIntoTmp(message.spoolPath, uniqueName: message.uniqueName)
        let warnings = try withExtendedLifetime(message) { try findings(.warning) }
        #expect(warnings.map(\.detail) == ["1 file(s) in tmp/: a delivery in flight, or an unclean stop that `postgate serve` recovers at start"])
    }

    @Test func aJournalledMessageNotYetFlushedIsAWarning() throws {
        let flushing = try fixture.storeFlushing { _ in EIO }
        try deliverSample(flushing)
        let warnings = try flushing.check().filter { $0.severity == .warning }
        #expect(warnings.map(\.subject) == ["delivery journal"])
        #expect(warnings.first?.detail.hasPrefix("1 message(s) whose Maildir files are not yet flushed") == true)
    }

    @Test func severitiesOrder() {
        #expect(CheckFinding.Severity.ok < .warning && CheckFinding.Severity.warning < .error)
    }
}
