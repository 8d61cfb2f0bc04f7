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
    /// HIGHESTMODSEQ as last read (RFC 7162 section 3.1.2.1).
    public var highestModSeq: UInt64
    /// In UID order; message `n` is `messages[n - 1]`.
    public var messages: [MessageSummary]
    public var version: UInt64

    init(mailbox: VisibleMailbox, readOnly: Bool, snapshot: MailboxSnapshot, version: UInt64) {
        self.mailbox = mailbox
        self.readOnly = readOnly
        self.uidValidity = snapshot.uidValidity
        self.uidNext = snapshot.uidNext
        self.highestModSeq = snapshot.highestModSeq
        self.messages = snapshot.messages
        self.version = version
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

    /// The indexes a sequence set names, ascending: by UID (`uid`) or by sequence number.
    func indexes(_ set: IMAPSequenceSet, uid: Bool) -> [Int] {
        if uid {
            guard let largest = messages.last?.uid else { return [] }
            // `n:*` includes the last message even when n is above it (RFC 9051 section 6.4.8).
            var result: [Int] = []
            for (low, high) in set.ranges {
                let a = value(low, largest), b = value(high, largest)
                let lower = min(a, b), upper = max(a, b)
                var index = firstIndex(notBelowUID: lower)
                while index < messages.count, messages[index].uid <= upper {
                    result.append(index)
                    index += 1
                }
            }
            return set.ranges.count == 1 ? result : Array(Set(result)).sorted()
        }
        let count = UInt32(messages.count)
        guard count > 0 else { return [] }
        var result: [Int] = []
        for (low, high) in set.ranges {
            let a = value(low, count), b = value(high, count)
            let lower = min(a, b), upper = min(max(a, b), count)
            if lower <= upper { result += (Int(lower) - 1)..<Int(upper) }
        }
        return set.ranges.count == 1 ? result : Array(Set(result)).sorted()
    }

    /// Whether every sequence number in `set` exists (RFC 9051 section 6.4.5: else BAD).
    func sequenceNumbersValid(_ set: IMAPSequenceSet) -> Bool {
        let count = UInt32(messages.count)
        return set.ranges.allSatisfy { low, high in
            [low, high].allSatisfy { bound in
                if case .number(let n) = bound { return n <= count }
                return count > 0
            }
        }
    }

    private func value(_ bound: IMAPSequenceSet.Bound, _ star: UInt32) -> UInt32 {
        switch bound {
        case .number(let n): n
        case .star: star
        }
    }

    private func firstIndex(notBelowUID uid: UInt32) -> Int {
        var low = 0, high = messages.count
        while low < high {
            let mid = (low + high) / 2
            if messages[mid].uid < uid { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// `UID n MODSEQ (m) FLAGS (…)`: what a FETCH response about a flag change says.
    static func flagItems(_ message: MessageSummary, uid: Bool, condStore: Bool, flags: Bool = true) -> String {
        var items: [String] = []
        if uid { items.append("UID \(message.uid)") }
        if condStore { items.append("MODSEQ (\(message.modSeq))") }
        if flags { items.append("FLAGS (\(message.flags.imapNames.joined(separator: " ")))") }
        return items.joined(separator: " ")
    }

    /// Brings the view up to `snapshot`, writing the untagged responses a client needs;
    /// with CONDSTORE, any new mod-sequence is reported, with MODSEQ (RFC 7162 section 3.1.4.1).
    mutating func synchronize(
        with snapshot: MailboxSnapshot, version: UInt64, allowExpunge: Bool, condStore: Bool, into w: inout IMAPResponseWriter
    ) {
        var current: [UInt32: MessageSummary] = [:]
        current.reserveCapacity(snapshot.messages.count)
        for message in snapshot.messages { current[message.uid] = message }
        if allowExpunge {
            for index in messages.indices.reversed() where current[messages[index].uid] == nil {
                w.untagged("\(index + 1) EXPUNGE")
                messages.remove(at: index)
            }
        }
        for index in messages.indices {
            guard var now = current[messages[index].uid] else { continue }
            if now.flags != messages[index].flags || (condStore && now.modSeq != messages[index].modSeq) {
                w.untagged("\(index + 1) FETCH (\(Self.flagItems(now, uid: true, condStore: condStore)))")
            }
            if !now.hasDetails { now.takeDetails(of: messages[index]) }
            messages[index] = now
        }
        let highest = messages.last?.uid ?? 0
        let before = messages.count
        messages += snapshot.messages.filter { $0.uid > highest }
        if messages.count != before { w.untagged("\(messages.count) EXISTS") }
        uidNext = snapshot.uidNext
        highestModSeq = snapshot.highestModSeq
        self.version = allowExpunge || messages.count == snapshot.messages.count ? version : self.version
    }
}
