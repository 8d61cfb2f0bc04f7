import Foundation
import GRDB
import PostgateMessage
import Testing
@testable import PostgateStore
@testable import PostgateIndex
@testable import PostgateOutbound
import PostgateAutoReply
import PostgateMetrics

/// The durable queue on real files and a real SQLite database.
@Suite struct OutboundQueueTests {
    let root: String
    let policy = OutboundRetryPolicy(firstRetry: 60, factor: 2, maxInterval: 300, lifetime: 1000)

    init() {
        var template = Array((NSTemporaryDirectory() + "/postgate-outbound-XXXXXX").utf8CString)
        root = String(cString: mkdtemp(&template)!)
    }

    private func open() throws -> OutboundQueue { try OutboundQueue.open(directory: root + "/data", policy: policy) }
    private func address(_ text: String) throws -> EmailAddress { try EmailAddress(text) }
    private let t0 = Date(timeIntervalSince1970: 1_000_000)

    @Test func enqueueIsDurableAndClaimable() throws {
        let queue = try open()
        let record = try queue.enqueue(sender: address("agent@acme.test"), recipients: [address("a@x.test"), address("b@y.test"), address("a@x.test")],
                                       message: Array("Subject: hi\r\n\r\nbody é\r\n".utf8), now: t0)
        #expect(record.recipients.map(\.address) == ["a@x.test", "b@y.test"])
        #expect(record.recipients.allSatisfy { $0.state == .queued })
        #expect(FileManager.default.contents(atPath: queue.directoryPath + "/" + record.filename) == Data("Subject: hi\r\n\r\nbody é\r\n".utf8))
        // Another handle (a restart) sees it.
        let work = try open().claimDue(now: t0)
        #expect(work.count == 1)
        #expect(work[0].eightBit && !work[0].smtpUTF8 && work[0].sender == "agent@acme.test")
        #expect(work[0].recipients.map(\.address) == ["a@x.test", "b@y.test"])
        // Claimed by this process: not claimable again until released.
        #expect(try queue.claimDue(now: t0).isEmpty)
        try queue.release(record.id)
        #expect(try queue.claimDue(now: t0).count == 1)
    }

    @Test func aPollWithNothingDueTakesNoWriteLock() throws {
        // Another connection holds the write lock (a delivery committing). A poll that
        // finds nothing due must answer at once, not queue behind it (busy timeout 10 s).
        let queue = try open()
        let writer = try DatabaseQueue(path: root + "/data/postgate.sqlite")
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        Thread {
            try? writer.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                holding.signal()
                release.wait()
                try db.execute(sql: "ROLLBACK")
            }
        }.start()
        holding.wait()
        defer { release.signal() }
        let started = Date()
        #expect(try queue.claimDue(now: t0).isEmpty)
        #expect(Date().timeIntervalSince(started) < 1)
    }

    @Test func theQueueSharesTheStoresConnections() throws {
        let store = try MailStore.open(directory: root + "/data")
        let queue = try OutboundQueue.open(sharing: store, policy: policy)
        #expect(queue.database.commits === store.database.commits, "one SQLiteDatabase, not a second pool on the same file")
        let record = try queue.enqueue(sender: nil, recipients: [address("a@x.test")], message: Array("x\r\n".utf8), now: t0)
        #expect(try open().claimDue(now: t0).map(\.messageID) == [record.id])
    }

    @Test func outcomesFollowTheRetrySchedule() throws {
        let queue = try open()
        let record = try queue.enqueue(sender: nil, recipients: [address("a@x.test"), address("b@x.test"), address("c@x.test")], message: Array("x\r\n".utf8), now: t0)
        let ids = record.recipients.map(\.id)
        try queue.record([ids[0]: .delivered(reply: "250 ok"), ids[1]: .temporary(reason: "451 later"), ids[2]: .permanent(reason: "550 no")], now: t0)
        var states = try queue.message(record.id).recipients
        #expect(states.map(\.state) == [.delivered, .deferred, .failed])
        #expect(states[1].nextAttemptAt == t0.addingTimeInterval(60))
        #expect(states[2].lastReply == "550 no")
        try queue.release(record.id)
        #expect(try queue.claimDue(now: t0.addingTimeInterval(59)).isEmpty)
        let work = try queue.claimDue(now: t0.addingTimeInterval(60))
        #expect(work.first?.recipients.map(\.address) == ["b@x.test"], "a delivered recipient is never claimed again")
        // A second failure waits 120 s; a delivered outcome for an already delivered recipient changes nothing.
        try queue.record([ids[1]: .temporary(reason: "451 again"), ids[0]: .permanent(reason: "late")], now: t0.addingTimeInterval(60))
        states = try queue.message(record.id).recipients
        #expect(states[1].nextAttemptAt == t0.addingTimeInterval(180) && states[1].attempts == 2)
        #expect(states[0].state == .delivered)
        try queue.release(record.id)
        #expect(FileManager.default.fileExists(atPath: queue.directoryPath + "/" + record.filename))
        try queue.record([ids[1]: .delivered(reply: "250 ok")], now: t0.addingTimeInterval(180))
        try queue.release(record.id)
        // The failed recipient still needs its notification, which quotes the file's header.
        #expect(FileManager.default.fileExists(atPath: queue.directoryPath + "/" + record.filename))
        let reports = try queue.pendingFailureReports()
        #expect(reports.map(\.recipients).map { $0.map(\.address) } == [["c@x.test"]])
        #expect(reports.first?.path == queue.directoryPath + "/" + record.filename)
        try queue.markNotified(reports[0])
        #expect(try queue.pendingFailureReports().isEmpty, "notified once")
        #expect(!FileManager.default.fileExists(atPath: queue.directoryPath + "/" + record.filename), "the file goes once nobody is left to try")
        #expect(try queue.message(record.id).state == "done")
    }

    @Test func deferredRecipientsFailWhenTheLifetimeIsOver() throws {
        let queue = try open()
        let record = try queue.enqueue(sender: nil, recipients: [address("a@x.test")], message: Array("x".utf8), now: t0)
        let id = record.recipients[0].id
        try queue.record([id: .temporary(reason: "451 later")], now: t0.addingTimeInterval(800))
        #expect(try queue.message(record.id).recipients[0].state == .deferred, "the next try at 860 s is within the 1000 s lifetime")
        try queue.record([id: .temporary(reason: "451 later")], now: t0.addingTimeInterval(950))
        let recipient = try queue.message(record.id).recipients[0]
        #expect(recipient.state == .failed)
        #expect(recipient.lastReply?.contains("451 later") == true)
    }

    @Test func retryAndDrop() throws {
        let queue = try open()
        let record = try queue.enqueue(sender: nil, recipients: [address("a@x.test")], message: Array("x".utf8), now: t0)
        try queue.record([record.recipients[0].id: .temporary(reason: "451")], now: t0)
        try queue.release(record.id)
        #expect(try queue.claimDue(now: t0.addingTimeInterval(1)).isEmpty)
        #expect(try queue.retry(record.id, now: t0.addingTimeInterval(1)) == 1)
        #expect(try queue.claimDue(now: t0.addingTimeInterval(1)).count == 1)
        try queue.drop(record.id)
        #expect(throws: OutboundQueueError.messageNotFound(record.id)) { try queue.message(record.id) }
        #expect(throws: OutboundQueueError.noRecipients) { try queue.enqueue(sender: nil, recipients: [], message: [], now: t0) }
    }

    @Test func replyThreadFacts() throws {
        let queue = try open()
        #expect(try !queue.hasReply(sessionID: 9))
        _ = try queue.enqueue(sender: nil, recipients: [address("a@x.test")], message: Array("x\r\n".utf8), sessionID: 9, now: t0)
        #expect(try queue.hasReply(sessionID: 9) && !queue.hasReply(sessionID: 10))
        #expect(try queue.replyParent(messageID: "<nothing@x.test>", mailboxPath: "maildir/x/y") == nil)
    }

    @Test func deliveredRepliesAreCopiedOnceBeforeTheFileGoes() throws {
        let queue = try open()
        let sent = try queue.enqueue(sender: address("support@acme.test"), recipients: [address("a@x.test")], message: Array("x\r\n".utf8),
                                     threadCopy: true, now: t0)
        let lost = try queue.enqueue(sender: nil, recipients: [address("b@x.test")], message: Array("y\r\n".utf8), threadCopy: true, now: t0)
        #expect(try queue.pendingThreadCopies().isEmpty, "nothing is copied before delivery")
        try queue.record([sent.recipients[0].id: .delivered(reply: "250 ok"), lost.recipients[0].id: .permanent(reason: "550 no")], now: t0)
        try queue.release(sent.id)
        try queue.release(lost.id)
        let copies = try queue.pendingThreadCopies()
        #expect(copies == [OutboundThreadCopy(messageID: sent.id, path: queue.directoryPath + "/" + sent.filename, sender: "support@acme.test")])
        #expect(FileManager.default.fileExists(atPath: copies[0].path))
        try queue.markThreadCopied(copies[0])
        #expect(!FileManager.default.fileExists(atPath: copies[0].path))
        #expect(try queue.pendingThreadCopies().isEmpty)
        #expect(FileManager.default.fileExists(atPath: queue.directoryPath + "/" + lost.filename), "kept for its notification")
    }

    @Test func backoffIsCappedExponential() {
        let p = OutboundRetryPolicy(firstRetry: 300, factor: 2, maxInterval: 14_400)
        #expect([1, 2, 3, 6, 7, 50].map(p.interval(afterAttempts:)) == [300, 600, 1200, 9600, 14_400, 14_400])
    }

    @Test func checkReportsWaitingRepliesAndAlarmsAfterTheThreshold() throws {
        let queue = try open()
        #expect(try queue.checkFinding(now: t0, alertAfter: 3600).severity == .ok)
        let record = try queue.enqueue(sender: nil, recipients: [address("a@x.test"), address("b@x.test")], message: Array("x\r\n".utf8), now: t0)
        // Queued, not yet tried: ok, and says what waits.
        let queued = try queue.checkFinding(now: t0.addingTimeInterval(5), alertAfter: 3600)
        #expect(queued.severity == .ok && queued.detail.hasPrefix("2 recipient(s) waiting (0 deferred), oldest queued 5 s ago"))
        // A temporary failure: a warning carrying the reason on one line.
        let ids = try queue.message(record.id).recipients.map(\.id)
        try queue.record([ids[0]: .temporary(reason: "421 relay.x.test busy\nretry"), ids[1]: .delivered(reply: "250 ok")], now: t0.addingTimeInterval(60))
        let deferred = try queue.checkFinding(now: t0.addingTimeInterval(120), alertAfter: 3600)
        #expect(deferred.severity == .warning)
        #expect(deferred.detail.contains("1 recipient(s) waiting (1 deferred), oldest queued 2 min ago; last error: 421 relay.x.test busy retry"))
        #expect(!deferred.detail.contains("\n"))
        // Waiting as long as the threshold: an error.
        let late = try queue.checkFinding(now: t0.addingTimeInterval(3600), alertAfter: 3600)
        #expect(late.severity == .error && late.detail.contains("1 h 0 min ago"))
        // Delivered at last: nothing waits.
        try queue.record([ids[0]: .delivered(reply: "250 ok")], now: t0.addingTimeInterval(4000))
        #expect(try queue.checkFinding(now: t0.addingTimeInterval(4000), alertAfter: 3600).detail == "nothing waiting")
    }

    @Test func queueGaugesShowTheDepthByStateAndTheOldestDeferredAge() throws {
        let queue = try open()
        let metrics = GatewayMetrics()
        let gauges = OutboundQueueGauges(factory: metrics.factory)
        _ = try queue.enqueue(sender: nil, recipients: [address("a@x.test"), address("b@x.test")], message: Array("a\r\n".utf8), now: t0)
        let later = try queue.enqueue(sender: nil, recipients: [address("c@x.test")], message: Array("b\r\n".utf8), now: t0.addingTimeInterval(100))
        gauges.update(try queue.backlog(), now: t0.addingTimeInterval(200))
        #expect(metrics.sample("postgate_outbound_queue_recipients{state=\"queued\"}") == 3)
        #expect(metrics.sample("postgate_outbound_queue_recipients{state=\"deferred\"}") == 0)
        #expect(metrics.sample("postgate_outbound_oldest_deferred_age_seconds") == 0)
        // The later message is deferred: its age counts, not the older queued one's.
        let id = try queue.message(later.id).recipients[0].id
        try queue.record([id: .temporary(reason: "421 busy")], now: t0.addingTimeInterval(150))
        gauges.update(try queue.backlog(), now: t0.addingTimeInterval(400))
        #expect(metrics.sample("postgate_outbound_queue_recipients{state=\"queued\"}") == 2)
        #expect(metrics.sample("postgate_outbound_queue_recipients{state=\"deferred\"}") == 1)
        #expect(metrics.sample("postgate_outbound_oldest_deferred_age_seconds") == 300)
    }

    @Test func erasingARecipientRemovesItAndRepliesLeftWithoutRecipients() throws {
        let queue = try open()
        let only = try queue.enqueue(sender: nil, recipients: [address("Bob@x.test")], message: Array("a\r\n".utf8), now: t0)
        let shared = try queue.enqueue(sender: nil, recipients: [address("bob@x.test"), address("carol@x.test")], message: Array("b\r\n".utf8), now: t0)
        #expect(try queue.erase(recipient: "bob@x.test", dryRun: true) == 2)
        #expect(try queue.messages().count == 2)
        #expect(try queue.erase(recipient: "BOB@x.test") == 2)
        #expect(try queue.messages().map(\.id) == [shared.id])
        #expect(try queue.message(shared.id).recipients.map(\.address) == ["carol@x.test"])
        #expect(!FileManager.default.fileExists(atPath: queue.directoryPath + "/" + only.filename))
        #expect(FileManager.default.fileExists(atPath: queue.directoryPath + "/" + shared.filename))
    }
}

/// Auto-replies in the queue: the limits are checked in the transaction that inserts one.
@Suite struct OutboundAutoReplyQueueTests {
    let root: String

    init() {
        var template = Array((NSTemporaryDirectory() + "/postgate-autoreply-XXXXXX").utf8CString)
        root = String(cString: mkdtemp(&template)!)
    }

    private let t0 = Date(timeIntervalSince1970: 1_000_000)

    private func enqueue(_ queue: OutboundQueue, session: Int64, cap: Int = 3, at date: Date) throws(OutboundQueueError) -> OutboundMessageRecord {
        let jane = try! EmailAddress("jane@example.test")
        return try queue.enqueue(
            sender: try! EmailAddress("help@acme.test"), recipients: [jane, try! EmailAddress("desk@acme.test")],
            message: Array("Auto-Submitted: auto-replied\r\n\r\nThanks\r\n".utf8), sessionID: session, threadCopy: true,
            autoReply: OutboundAutoReply(kind: .inHours, recipient: jane, rules: AutoReplyRules(enabled: [.inHours], hourlyCap: cap)),
            now: date)
    }

    @Test func aSessionGetsOneAndASenderNoMoreThanTheCapAnHour() throws {
        let queue = try OutboundQueue.open(directory: root + "/data")
        #expect(try enqueue(queue, session: 7, at: t0).autoReply == "in")
        #expect(throws: OutboundQueueError.autoReplyHeld(.sessionAnswered)) { try enqueue(queue, session: 7, at: t0) }
        // Auto-replies are no session's reply: the agent's first one still gets the contact card.
        #expect(try !queue.hasReply(sessionID: 7))
        _ = try enqueue(queue, session: 8, cap: 2, at: t0 + 60)
        #expect(throws: OutboundQueueError.autoReplyHeld(.hourlyCapReached(2))) { try enqueue(queue, session: 9, cap: 2, at: t0 + 120) }
        // A held auto-reply leaves no file and no row behind.
        #expect(try queue.messages().count == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: queue.directoryPath).count == 2)
        // An hour after the first, one more is allowed.
        #expect(try enqueue(queue, session: 9, cap: 2, at: t0 + 3601).autoReply == "in")
        let agents = try queue.enqueue(sender: EmailAddress("help@acme.test"), recipients: [EmailAddress("jane@example.test")],
                                       message: Array("Subject: Re\r\n\r\nHi\r\n".utf8), sessionID: 7, now: t0)
        #expect(agents.autoReply == nil)
        #expect(try queue.hasReply(sessionID: 7))
    }
}
