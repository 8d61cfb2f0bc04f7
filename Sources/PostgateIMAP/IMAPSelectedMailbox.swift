import PostgateStore
import PostgateMaildir
import PostgateIndex

/// The selected mailbox as one session sees it: message sequence numbers (positions in
/// `messages`), flags as last reported, and the change-feed version it reflects.
///
/// `synchronize` reports what changed since (RFC 9051 section 7.4.1: EXPUNGE, EXISTS and
/// FETCH FLAGS), holding back expunges while a FETCH, STORE or SEARCH runs (section 7.5.1)
/// so sequence numbers never shift under a command.
public struct IMAPSelectedMailbox: Sendable {
    public var mailbox: VisibleMailbox
    public var readOnly: Bool
    public var uidValidity: UInt32
    public var uidNext: UInt32
    /// HIGHESTMODSEQ as last read (RFC 7162 section 3.1.2.1); while expunges are held back,
    /// the value before them (section 3.2: never above an expunge not yet reported).
    public var highestModSeq: UInt64
    /// The mod-sequence of the mailbox's latest expunge as last read (`MailboxSnapshot.expungeModSeq`).
    public var expungeModSeq: UInt64
    /// In UID order; message `n` is `messages[n - 1]`.
    public var messages: [MessageSummary]
    public var version: UInt64
    /// The UIDs this session sees as `\Recent` (RFC 3501 section 2.3.2): those it took
    /// first (`IMAPMailStore.claimRecent`), or, read-only, those no session took yet.
    public var recent: [ClosedRange<UInt32>] = []
    /// The count of recent messages last sent in a RECENT response.
    public var reportedRecent = 0
    /// The keywords announced in FLAGS and PERMANENTFLAGS (RFC 3501 section 7.2.6), in the
    /// order met; the list only grows while the mailbox is selected.
    public var keywords: [String] = []

    init(mailbox: VisibleMailbox, readOnly: Bool, snapshot: MailboxSnapshot, version: UInt64) {
        self.mailbox = mailbox
        self.readOnly = readOnly
        self.uidValidity = snapshot.uidValidity
        self.uidNext = snapshot.uidNext
        self.highestModSeq = snapshot.highestModSeq
        self.expungeModSeq = snapshot.expungeModSeq
        self.messages = snapshot.messages
        self.version = version
    }

    /// The system flags every mailbox offers (RFC 9051 section 2.3.2).
    static let systemFlags = "\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded"

    func isRecent(_ uid: UInt32) -> Bool {
        recent.contains { $0.contains(uid) }
    }

    /// How many messages this session sees as recent (the RECENT response).
    var recentCount: Int {
        recent.isEmpty ? 0 : messages.count { isRecent($0.uid) }
    }

    /// `FLAGS (…)` and `OK [PERMANENTFLAGS (…)]` with the keywords known so far; a
    /// read-only session may change nothing (RFC 3501 section 6.3.2). `\*`: clients may
    /// make new keywords.
    func writeFlags(into w: inout IMAPResponseWriter) {
        let flags = ([Self.systemFlags] + keywords).joined(separator: " ")
        w.untagged("FLAGS (\(flags))")
        w.untagged(readOnly ? "OK [PERMANENTFLAGS ()] Read-only mailbox" : "OK [PERMANENTFLAGS (\(flags) \\*)] Flags permitted")
    }

    /// Adds the keywords of `messages` not announced yet and, if there were any, announces
    /// the longer list: a client must hear of a keyword before a FETCH shows it.
    mutating func announceKeywords(of messages: some Sequence<MessageSummary>, into w: inout IMAPResponseWriter) {
        var known = Set(keywords.map { $0.lowercased() })
        let before = keywords.count
        for message in messages {
            for keyword in message.flags.keywords where known.insert(keyword.lowercased()).inserted {
                keywords.append(keyword)
            }
        }
        if keywords.count != before { writeFlags(into: &w) }
    }

    /// Reads size, date and file name of the messages at `indexes` that have none yet
    /// (SELECT reads only UIDs and flags), in one query over their UID range.
    mutating func loadDetails(_ indexes: some Collection<Int>, from store: some IMAPMailStore) throws(StoreError) {
        let missing = indexes.filter { !messages[$0].hasDetails }
        guard let low = missing.map({ messages[$0].uid }).min(), let high = missing.map({ messages[$0].uid }).max() else { return }
        var read: [UInt32: MessageSummary] = [:]
        for message in try store.details(in: mailbox, uids: low...high) { read[message.uid] = message }
        for index in missing {
            if let found = read[messages[index].uid] { messages[index].takeDetails(of: found) }
        }
    }

    /// The index in `messages` of `uid`, or nil.
    func index(ofUID uid: UInt32) -> Int? {
        var low = 0, high = messages.count
        while low < high {
            let mid = (low + high) / 2
            if messages[mid].uid < uid { low = mid + 1 } else { high = mid }
        }
        return low < messages.count && messages[low].uid == uid ? low : nil
    }

    /// The indexes a sequence set names, ascending, each once: by UID (`uid`) or by
    /// sequence number. The work is bounded by the answer (the set's ranges are merged
    /// first), whatever the number of ranges that name the same messages.
    func indexes(_ set: IMAPSequenceSet, uid: Bool) -> [Int] {
        var result: [Int] = []
        if uid {
            guard let largest = messages.last?.uid else { return [] }
            // `n:*` includes the last message even when n is above it (RFC 9051 section 6.4.8).
            for range in set.resolved(largest: largest) {
                var index = firstIndex(notBelowUID: range.lowerBound)
                while index < messages.count, messages[index].uid <= range.upperBound {
                    result.append(index)
                    index += 1
                }
            }
            return result
        }
        let count = UInt32(messages.count)
        guard count > 0 else { return [] }
        for range in set.resolved(largest: count) where range.lowerBound <= count {
            result += (Int(range.lowerBound) - 1)..<Int(min(range.upperBound, count))
        }
        return result
    }

    /// Whether every sequence number in `set` exists (RFC 9051 section 6.4.5: else BAD).
    func sequenceNumbersValid(_ set: IMAPSequenceSet) -> Bool {
        let count = UInt32(messages.count)
        return count > 0 && (set.largestNumber ?? 0) <= count
    }

    func firstIndex(notBelowUID uid: UInt32) -> Int {
        var low = 0, high = messages.count
        while low < high {
            let mid = (low + high) / 2
            if messages[mid].uid < uid { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// `UID n MODSEQ (m) FLAGS (…)`: what a FETCH response about a flag change says.
    func flagItems(_ message: MessageSummary, uid: Bool, condStore: Bool, flags: Bool = true) -> String {
        var items: [String] = []
        if uid { items.append("UID \(message.uid)") }
        if condStore { items.append("MODSEQ (\(message.modSeq))") }
        if flags {
            let names = message.flags.imapNames + (isRecent(message.uid) ? ["\\Recent"] : [])
            items.append("FLAGS (\(names.joined(separator: " ")))")
        }
        return items.joined(separator: " ")
    }

    /// Brings the view up to `snapshot`, writing the untagged responses a client needs;
    /// with CONDSTORE, any new mod-sequence is reported, with MODSEQ (RFC 7162 section 3.1.4.1).
    /// New keywords are announced first (`announceKeywords`). True if messages were added
    /// (EXISTS sent; the caller then reports RECENT). With QRESYNC, expunges are reported
    /// as one `VANISHED` response instead of `EXPUNGE`s (RFC 7162 section 3.2.10).
    @discardableResult
    mutating func synchronize(
        with snapshot: MailboxSnapshot, version: UInt64, allowExpunge: Bool, condStore: Bool, qresync: Bool = false,
        into w: inout IMAPResponseWriter
    ) -> Bool {
        announceKeywords(of: snapshot.messages, into: &w)
        var current: [UInt32: MessageSummary] = [:]
        current.reserveCapacity(snapshot.messages.count)
        for message in snapshot.messages { current[message.uid] = message }
        var heldBack = false
        if allowExpunge {
            var vanished: [ClosedRange<UInt32>] = []
            for index in messages.indices.reversed() where current[messages[index].uid] == nil {
                let uid = messages[index].uid
                if !qresync {
                    w.untagged("\(index + 1) EXPUNGE")
                } else if let first = vanished.last, first.lowerBound == uid + 1 {
                    vanished[vanished.count - 1] = uid...first.upperBound
                } else {
                    vanished.append(uid...uid)
                }
                messages.remove(at: index)
            }
            Self.writeVanished(vanished.reversed(), earlier: false, into: &w)
        } else {
            heldBack = messages.contains { current[$0.uid] == nil }
        }
        for index in messages.indices {
            guard var now = current[messages[index].uid] else { continue }
            if now.flags != messages[index].flags || (condStore && now.modSeq != messages[index].modSeq) {
                w.untagged("\(index + 1) FETCH (\(flagItems(now, uid: true, condStore: condStore)))")
            }
            if !now.hasDetails { now.takeDetails(of: messages[index]) }
            messages[index] = now
        }
        let highest = messages.last?.uid ?? 0
        let before = messages.count
        messages += snapshot.messages.filter { $0.uid > highest }
        if messages.count != before { w.untagged("\(messages.count) EXISTS") }
        uidNext = snapshot.uidNext
        expungeModSeq = snapshot.expungeModSeq
        // RFC 7162 section 3.2: a client told of a HIGHESTMODSEQ must not miss an expunge
        // below it, so the value moves on only once nothing is held back.
        if !heldBack { highestModSeq = snapshot.highestModSeq }
        self.version = allowExpunge || messages.count == snapshot.messages.count ? version : self.version
        return messages.count != before
    }
}
