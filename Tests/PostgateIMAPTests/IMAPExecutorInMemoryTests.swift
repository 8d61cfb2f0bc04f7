import Foundation
import Logging
import PostgateIndex
import PostgateMaildir
import Synchronization
import Testing
@testable import PostgateIMAP

/// The executor's behaviour against `InMemoryIMAPStore`: no files, no SQLite. What the
/// store does is counted, and its failures are injected, so what the executor asks of it
/// and how it answers a failure can be seen directly.
@Suite struct IMAPExecutorInMemoryTests {
    private func session(_ store: InMemoryIMAPStore, logger: Logger = Logger(label: "postgate.imap.test")) -> IMAPTestSession<InMemoryIMAPStore> {
        IMAPTestSession(executor: IMAPCommandExecutor(store: store, logger: logger), context: IMAPSessionContext(agent: store.agent, selected: nil))
    }

    @Test func appendSelectFetchAndStore() {
        let store = InMemoryIMAPStore()
        var session = session(store)
        let append = session.run("a APPEND INBOX (\\Flagged) {\(sampleMessage.utf8.count)+}\r\n\(sampleMessage)")
        #expect(append == "a OK [APPENDUID 1001 1] APPEND completed\r\n")
        #expect(store.messages().map(\.bytes) == [Array(sampleMessage.utf8)])
        let select = session.run("b SELECT INBOX")
        #expect(select.contains("* 1 EXISTS\r\n") && select.contains("* OK [UIDVALIDITY 1001]"), "\(select)")
        let fetch = session.run("c FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        #expect(fetch.contains("FLAGS (\\Flagged \\Recent)") && fetch.contains("Subject: Order 1234 is late\r\n"), "\(fetch)")
        let flagged = session.run("d STORE 1 +FLAGS (\\Seen)")
        #expect(flagged.contains("* 1 FETCH (FLAGS (") && flagged.contains("\\Seen") && flagged.hasSuffix("d OK STORE completed\r\n"), "\(flagged)")
        #expect(store.messages().first?.summary.flags.isSeen == true)
    }

    @Test func anAppendThatFailsDropsItsMessage() {
        let store = InMemoryIMAPStore()
        var session = session(store)
        #expect(session.run("a APPEND Nowhere {5+}\r\nhello").hasPrefix("a NO [TRYCREATE]"))
        #expect(session.run("b APPEND INBOX {0+}\r\n") == "b NO Empty message\r\n")
        #expect(store.with { ($0.messagesBegun, $0.messagesAborted) } == (1, 1))
        #expect(store.messages().isEmpty)
    }

    @Test func theFetchCacheIsFilledOnceAndThenRead() {
        let store = InMemoryIMAPStore()
        store.deliver(sampleMessage)
        var session = session(store)
        _ = session.run("a SELECT INBOX")
        let first = session.run("b FETCH 1 ENVELOPE")
        #expect(first.contains("ENVELOPE (\"Mon, 23 Nov 2026 10:00:00 +0100\" \"Order 1234 is late\""), "\(first)")
        #expect(store.with { ($0.contentReads, $0.cacheStores) } == (1, 1))
        let second = session.run("c FETCH 1 ENVELOPE")
        #expect(second.replacingOccurrences(of: "c OK", with: "b OK") == first)
        #expect(store.with { $0.contentReads } == 1, "the second FETCH reads the cache, not the message")
    }

    @Test func aFetchCacheThatFailsFallsBackToTheMessageAndSaysWhy() {
        let store = InMemoryIMAPStore()
        store.deliver(sampleMessage)
        store.with {
            $0.cacheReadFails = true
            $0.cacheWriteFails = true
        }
        let log = CapturedLog()
        var session = session(store, logger: Logger(label: "postgate.imap.test") { _ in CapturingLogHandler(log: log) })
        _ = session.run("a SELECT INBOX")
        let fetch = session.run("b FETCH 1 (ENVELOPE BODYSTRUCTURE)")
        #expect(fetch.contains("* 1 FETCH (ENVELOPE (") && fetch.hasSuffix("b OK FETCH completed\r\n"), "\(fetch)")
        #expect(store.with { $0.contentReads } == 1)
        let entries = log.entries.withLock { $0 }
        #expect(entries.contains { $0.hasPrefix("warning fetch cache not readable") && $0.contains("injected failure") }, "\(entries)")
        #expect(entries.contains { $0.hasPrefix("warning fetch cache not updated") && $0.contains("injected failure") }, "\(entries)")
    }

    @Test func aMessageThatCannotBeReadIsNamedNotSkipped() {
        let store = InMemoryIMAPStore()
        store.deliver(sampleMessage)
        store.deliver(multipartMessage)
        let log = CapturedLog()
        var session = session(store, logger: Logger(label: "postgate.imap.test") { _ in CapturingLogHandler(log: log) })
        _ = session.run("a SELECT INBOX")
        store.with { $0.unreadable = [1] }
        let fetch = session.run("b FETCH 1:2 (UID RFC822.SIZE BODY.PEEK[])")
        #expect(!fetch.contains("* 1 FETCH") && fetch.contains("* 2 FETCH (UID 2 RFC822.SIZE "), "\(fetch)")
        let failure = StoreError.io(operation: "read", path: "memory/1", reason: "injected failure")
        // The client is not told the file's path; the log has it.
        #expect(fetch.hasSuffix("b NO [SERVERBUG] FETCH failed: cannot read message UID 1: Internal error occurred. Refer to server log for more information.\r\n"), "\(fetch)")
        #expect(!fetch.contains("memory/1"), "\(fetch)")
        #expect(log.entries.withLock { $0 }.contains { $0.hasPrefix("error message file not readable") })
        let search = session.run("c SEARCH BODY attached")
        #expect(search == "c NO [SERVERBUG] Cannot read message UID 1: \(failure)\r\n", "\(search)")
        #expect(session.run("d SORT (DATE) UTF-8 ALL").hasPrefix("d NO [SERVERBUG] Cannot read message UID 1: "))
        store.with { $0.unreadable = [] }
        #expect(session.run("e SEARCH BODY attached") == "* SEARCH 2\r\ne OK SEARCH completed\r\n")
    }

    @Test func aMessageGoneMeanwhileIsExpungeIssued() {
        let store = InMemoryIMAPStore()
        store.deliver(sampleMessage)
        store.deliver(multipartMessage)
        var session = session(store)
        _ = session.run("a SELECT INBOX")
        store.vanish(1)
        let fetch = session.run("b FETCH 1:2 BODY.PEEK[]")
        #expect(!fetch.contains("* 1 FETCH") && fetch.contains("* 2 FETCH (BODY[] {"), "\(fetch)")
        #expect(fetch.hasSuffix("b NO [EXPUNGEISSUED] Some of the requested messages no longer exist (UID 1)\r\n"), "\(fetch)")
        // A UID FETCH ignores UIDs that no longer exist: it stands, and says why one is missing.
        let byUID = session.run("b2 UID FETCH 1:2 BODY.PEEK[]")
        #expect(!byUID.contains("* 1 FETCH") && byUID.contains("* 2 FETCH (UID 2 BODY[] {"), "\(byUID)")
        #expect(byUID.hasSuffix("b2 OK [EXPUNGEISSUED] FETCH completed; some messages no longer exist (UID 1)\r\n"), "\(byUID)")
        // Text keys are answered from the index's search text, which went with the message.
        let search = session.run("c SEARCH TEXT photo")
        #expect(search == "* SEARCH 2\r\nc OK SEARCH completed\r\n", "\(search)")
        let header = session.run("c2 SEARCH HEADER Message-ID photo")
        #expect(header == "* SEARCH 2\r\nc2 OK [EXPUNGEISSUED] SEARCH completed; some messages no longer exist (UID 1)\r\n", "\(header)")
        #expect(session.run("d NOOP") == "* 1 EXPUNGE\r\nd OK NOOP completed\r\n")
    }

    @Test func moveCopiesWithNewUIDsAndExpunges() {
        let store = InMemoryIMAPStore()
        store.deliver(sampleMessage)
        store.deliver(multipartMessage)
        var session = session(store)
        _ = session.run("a SELECT INBOX")
        let move = session.run("b MOVE 1 Archive")
        #expect(move == "* OK [COPYUID 1002 1 1] Moved\r\n* 1 EXPUNGE\r\nb OK MOVE completed\r\n", "\(move)")
        #expect(store.messages(in: "Archive").map(\.bytes) == [Array(sampleMessage.utf8)])
        #expect(store.messages().map(\.summary.uid) == [2])
    }

    @Test func idleReportsWhatAnotherSessionDid() {
        let store = InMemoryIMAPStore()
        var session = session(store)
        _ = session.run("a SELECT INBOX")
        #expect(session.poll().isEmpty)
        store.deliver(sampleMessage)
        #expect(session.poll() == "* 1 EXISTS\r\n* 1 RECENT\r\n")
    }
}

/// Log entries as `level message metadata`, for tests that check what was logged.
final class CapturedLog: Sendable {
    let entries = Mutex<[String]>([])
}

struct CapturingLogHandler: LogHandler {
    let log: CapturedLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        log.entries.withLock { $0.append("\(event.level) \(event.message) \(fields)") }
    }
}
