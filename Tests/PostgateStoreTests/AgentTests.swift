import Foundation
import GRDB
import PostgateMessage
import Synchronization
import Testing
@testable import PostgateStore
@testable import PostgateMaildir
@testable import PostgateIndex
@testable import PostgateDirectory

@Suite struct AgentTests {
    @Test func passwordHashRoundTripAndParameters() throws {
        let hash = try PasswordHash.make("s3cret pass", cost: 1 << 10)
        #expect(hash.stored.hasPrefix("scrypt$1024$8$1$"))
        let parsed = try #require(PasswordHash(stored: hash.stored))
        #expect(parsed == hash)
        #expect(parsed.verify("s3cret pass"))
        #expect(!parsed.verify("s3cret pasS"))
        #expect(try PasswordHash.make("s3cret pass", cost: 1 << 10).salt != hash.salt, "a fresh salt per password")
        #expect(PasswordHash(stored: "scrypt$1000$8$1$AA==$AA==") == nil, "N must be a power of two")
        #expect(PasswordHash(stored: "plain$x") == nil)
    }

    @Test func agentLifecycleAndMembership() throws {
        let fixture = try StoreFixture()
        let store = fixture.store
        try fixture.host("acme.test", "support", "sales")
        let alice = try store.addAgent("alice", displayName: "Alice", password: "correct horse")
        #expect(alice.addresses == [])
        #expect(throws: StoreError.agentAlreadyExists("alice")) { try store.addAgent("alice", password: "x") }
        try store.grant(agent: "alice", address: EmailAddress("support@acme.test"))
        #expect(throws: StoreError.self) { try store.grant(agent: "alice", address: EmailAddress("support@acme.test")) }
        #expect(throws: StoreError.agentNotFound("nobody")) {
            try store.grant(agent: "nobody", address: EmailAddress("support@acme.test"))
        }
        let identity = try #require(try store.authenticate(agent: "Alice", password: "correct horse"))
        let names = try store.visibleMailboxes(agent: identity).map(\.name)
        #expect(names == ["Drafts", "INBOX", "Sent", "Trash", "Shared/support@acme.test"])
        try store.revoke(agent: "alice", from: .address(EmailAddress("support@acme.test")))
        #expect(try store.visibleMailboxes(agent: identity).count == 4)
        try store.setPassword("new password", agent: "alice")
        #expect(try store.authenticate(agent: "alice", password: "correct horse") == nil)
        #expect(try store.authenticate(agent: "alice", password: "new password") != nil)
        let stored = try fixture.sql { try String.fetchOne($0, sql: "SELECT password_hash FROM agent WHERE name = 'alice'") }
        #expect(stored?.hasPrefix("scrypt$32768$8$1$") == true && stored?.contains("new password") == false, "\(stored ?? "")")
        try store.removeAgent("alice")
        #expect(try store.agent("alice") == nil)
    }

    /// An unknown agent's login runs the same scrypt check, at the same cost, as a known
    /// agent's wrong password, so the answer's timing does not tell whether the agent exists.
    @Test func anUnknownAgentCostsTheSameCheckAsAWrongPassword() throws {
        let fixture = try StoreFixture()
        let store = fixture.store
        try store.addAgent("alice", password: "correct horse")
        // Made once per process, on first use (a derivation of its own): made before counting.
        #expect(PasswordHash.unknownAgent?.cost == PasswordHash.defaultCost)
        let wrong = PasswordHash.DerivationCount()
        let knownResult = try PasswordHash.$derivations.withValue(wrong) {
            try store.authenticate(agent: "alice", password: "guess 1")
        }
        let unknown = PasswordHash.DerivationCount()
        let unknownResult = try PasswordHash.$derivations.withValue(unknown) {
            try store.authenticate(agent: "mallory", password: "guess 1")
        }
        #expect(knownResult == nil && unknownResult == nil)
        #expect(wrong.count == 1 && unknown.count == 1)
    }

    @Test func queueMembershipShowsSharedQueueFolders() throws {
        let fixture = try StoreFixture()
        let store = fixture.store
        try fixture.host("acme.test", "support")
        try store.addQueue("refunds", privateSeen: true)
        try store.addAgent("alice", password: "correct horse")
        let record = try store.grant(agent: "alice", to: .queue("Refunds"))
        #expect(record.queues == ["refunds"])
        #expect(throws: StoreError.agentAlreadyGranted(agent: "alice", membership: .queue("refunds"))) {
            try store.grant(agent: "alice", to: .queue("refunds"))
        }
        #expect(throws: StoreError.queueNotFound("nope")) { try store.grant(agent: "alice", to: .queue("nope")) }
        try store.grant(agent: "alice", to: .queue("general"))
        try store.grant(agent: "alice", to: .address(EmailAddress("support@acme.test")))
        let alice = try #require(try store.authenticate(agent: "alice", password: "correct horse"))
        let shared = try store.visibleMailboxes(agent: alice).filter { $0.kind == .shared }
        #expect(shared.map(\.name) == ["Shared/Queues/general", "Shared/Queues/refunds", "Shared/support@acme.test"])
        #expect(shared.map(\.path) == ["queues/general", "queues/refunds", "maildir/acme.test/support"])
        #expect(shared.map(\.privateSeen) == [false, true, false], "\\Seen is private only where the queue says so")

        try store.setPrivateSeen(false, of: .queue("refunds"))
        try store.setPrivateSeen(true, of: .queue("general"))
        #expect(try store.queues().map(\.privateSeen) == [true, false])
        #expect(throws: StoreError.queueNotFound("nope")) { try store.setPrivateSeen(true, of: .queue("nope")) }

        try store.revoke(agent: "alice", from: .queue("general"))
        #expect(throws: StoreError.agentNotGranted(agent: "alice", membership: .queue("general"))) {
            try store.revoke(agent: "alice", from: .queue("general"))
        }
        try store.removeQueue("refunds")
        #expect(try store.agent("alice")?.queues == [], "removing a queue removes its memberships")
        #expect(try store.visibleMailboxes(agent: alice).filter { $0.kind == .shared }.map(\.name) == ["Shared/support@acme.test"])
    }

    @Test func queuePrivateSeenSurvivesExportAndImport() throws {
        let fixture = try StoreFixture()
        try fixture.store.addQueue("vip", description: "VIP customers", privateSeen: true)
        try fixture.store.addQueue("plain")
        let export = try fixture.store.exportChannels()
        #expect(export.queues.map(\.privateSeen) == [nil, true])
        let files = Dictionary(uniqueKeysWithValues: ChannelCSV.tables(of: export))
        #expect(try ChannelCSV.export(from: files).queues == export.queues)
        let other = try StoreFixture()
        _ = try other.store.importChannels(export)
        #expect(try other.store.queues().map(\.privateSeen) == [false, true])
        var old = files
        old["queues.csv"] = "name,description\r\nvip,\r\n"
        #expect(try ChannelCSV.export(from: old).queues.map(\.privateSeen) == [nil], "files without the column still import")
    }

    @Test func policyLabelsBecomeKeywords() throws {
        let fixture = try StoreFixture()
        try fixture.host("acme.test", "support")
        let target = try fixture.target("support@acme.test")
        for (label, keyword) in [("blocked", "$Blocked"), ("auto-reply", "$AutoReply"), (nil, nil)] as [(String?, String?)] {
            let bytes = sampleMessage()
            let message = try fixture.store.beginMessage()
            try bytes.withUnsafeBytes { try message.write($0) }
            let envelope = DeliveryEnvelope(mailFrom: "x@example.org", rcptTo: [target: "support@acme.test"],
                                            header: MessageHeader.parse(bytes), policy: label.map { [target: $0] } ?? [:])
            let stored = try #require(try fixture.store.deliver(message, to: [target], envelope: envelope).first)
            let keywords = try fixture.sql {
                try String.fetchOne($0, sql: "SELECT keywords FROM message WHERE mailbox_id = ? AND uid = ?",
                                    arguments: [stored.mailboxID, stored.uid])
            }
            #expect(keywords == keyword ?? "", "\(label ?? "ordinary")")
        }
    }

    @Test func changeFeedCountsAndCallsObservers() {
        let feed = MailboxChangeFeed()
        let calls = Mutex(0)
        let token = feed.observe(7) { _ in calls.withLock { $0 += 1 } }
        feed.notify([7, 7, 8])
        #expect(feed.version(of: 7) == 1)
        #expect(feed.version(of: 8) == 1)
        feed.cancel(token)
        feed.notify([7])
        #expect(calls.withLock { $0 } == 1)
        #expect(feed.version(of: 7) == 2)
    }
}
