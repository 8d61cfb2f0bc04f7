import Foundation

/// A command with its tag, as the client sent it (RFC 9051 section 2.2.1).
public struct IMAPTaggedCommand: Sendable, Equatable {
    public var tag: String
    public var command: IMAPCommand

    public init(tag: String, command: IMAPCommand) {
        self.tag = tag
        self.command = command
    }
}

/// The commands of IMAP4rev1/rev2 (RFC 3501, RFC 9051 section 6) and the extensions
/// Postgate offers: IDLE (RFC 2177), NAMESPACE (RFC 2342), ID (RFC 2971), ENABLE
/// (RFC 5161), UNSELECT (RFC 3691), UIDPLUS (RFC 4315), MOVE (RFC 6851), SPECIAL-USE
/// (RFC 6154), SORT and THREAD (RFC 5256), CONDSTORE and QRESYNC (RFC 7162), MULTIAPPEND
/// (RFC 3502).
public enum IMAPCommand: Sendable, Equatable {
    case capability
    case noop
    case logout
    case startTLS
    case login(user: String, password: String)
    case authenticate(mechanism: String, initialResponse: String?)
    /// `condStore`: the `(CONDSTORE)` parameter (RFC 7162 section 3.1.8); `qresync`: the
    /// `(QRESYNC (…))` parameter (RFC 7162 section 3.2.5).
    case select(mailbox: String, readOnly: Bool, condStore: Bool = false, qresync: IMAPQResyncParameters? = nil)
    case create(mailbox: String)
    case delete(mailbox: String)
    case rename(from: String, to: String)
    case subscribe(mailbox: String)
    case unsubscribe(mailbox: String)
    case list(reference: String, patterns: [String], options: ListOptions)
    case lsub(reference: String, pattern: String)
    case status(mailbox: String, items: [StatusItem])
    /// One message, or several with MULTIAPPEND (RFC 3502), each with its flags and date.
    /// The messages themselves are not here: the handler streams them to spool files as
    /// they arrive (`IMAPAppendUpload`).
    case append(mailbox: String, messages: [IMAPAppendMessage])
    case check
    case close
    case unselect
    case expunge(uids: IMAPSequenceSet?)
    case search(key: IMAPSearchKey, uid: Bool, returnOptions: [String]?)
    /// `changedSince`: the CHANGEDSINCE modifier (RFC 7162 section 3.1.4.1); `vanished`: the
    /// VANISHED modifier of UID FETCH (RFC 7162 section 3.2.6).
    case fetch(set: IMAPSequenceSet, attributes: [IMAPFetchAttribute], uid: Bool, changedSince: UInt64? = nil, vanished: Bool = false)
    /// `unchangedSince`: the UNCHANGEDSINCE modifier (RFC 7162 section 3.1.3).
    case store(set: IMAPSequenceSet, operation: StoreOperation, silent: Bool, flags: [String], uid: Bool, unchangedSince: UInt64? = nil)
    case copy(set: IMAPSequenceSet, mailbox: String, uid: Bool)
    case move(set: IMAPSequenceSet, mailbox: String, uid: Bool)
    case sort(criteria: [SortCriterion], key: IMAPSearchKey, uid: Bool)
    case thread(algorithm: String, key: IMAPSearchKey, uid: Bool)
    case idle
    case namespace
    case id(parameters: [String: String]?)
    case enable(capabilities: [String])

    /// LIST selection and return options (RFC 5258, RFC 6154).
    public struct ListOptions: Sendable, Equatable {
        public var subscribedOnly = false
        public var specialUseOnly = false
        /// RECURSIVEMATCH (RFC 5258 section 3.1): a matching parent of a selected
        /// mailbox is listed with CHILDINFO.
        public var recursiveMatch = false
        public var returnSpecialUse = false
        public var returnSubscribed = false
        public var returnChildren = false
        /// RETURN (STATUS (…)) (RFC 5819 section 2): a STATUS response after each
        /// selectable mailbox listed.
        public var returnStatus: [StatusItem]?
        public init() {}
    }

    public enum StatusItem: String, Sendable, Equatable, CaseIterable {
        case messages = "MESSAGES"
        case recent = "RECENT"
        case uidNext = "UIDNEXT"
        case uidValidity = "UIDVALIDITY"
        case unseen = "UNSEEN"
        case size = "SIZE"
        case deleted = "DELETED"
        case highestModSeq = "HIGHESTMODSEQ"
        /// RFC 8474 section 4.3.
        case mailboxID = "MAILBOXID"
    }

    public enum StoreOperation: Sendable, Equatable {
        case replace, add, remove
    }

    public struct SortCriterion: Sendable, Equatable {
        public enum Key: String, Sendable, Equatable {
            case arrival = "ARRIVAL", cc = "CC", date = "DATE", from = "FROM", size = "SIZE", subject = "SUBJECT", to = "TO"
        }
        public var key: Key
        public var reverse: Bool
    }
}

/// One message of an APPEND (RFC 9051 section 6.3.12): `size` is its literal's octet count.
public struct IMAPAppendMessage: Sendable, Equatable {
    public var flags: [String]
    public var date: Date?
    public var size: Int

    public init(flags: [String] = [], date: Date? = nil, size: Int) {
        self.flags = flags
        self.date = date
        self.size = size
    }
}

/// A sequence set (RFC 9051 section 9, `sequence-set`): numbers and ranges, `*` the largest.
///
/// The ranges are also kept merged (`numbers`, `star…`), so that what a set costs is
/// bounded by the messages it names, not by how it is written: `1:*` ten thousand times
/// is one range, and a membership test is a binary search.
public struct IMAPSequenceSet: Sendable, Equatable {
    public enum Bound: Sendable, Equatable {
        case number(UInt32)
        case star
    }
    /// As the client wrote them.
    public private(set) var ranges: [(Bound, Bound)]
    /// The ranges of numbers only, sorted, disjoint and not adjacent.
    private var numbers: [ClosedRange<UInt32>] = []
    /// Whether some range has a `*`; then `starLow…starHigh` are the smallest and largest
    /// numbers paired with one (nil for `*` alone). Every such range holds the largest
    /// value, so together they are one range: `min(starLow, largest)…max(starHigh, largest)`.
    private(set) var hasStar = false
    private var starLow: UInt32?
    private var starHigh: UInt32?

    public init(ranges: [(Bound, Bound)]) {
        self.ranges = ranges
        var numeric: [ClosedRange<UInt32>] = []
        for (low, high) in ranges {
            switch (low, high) {
            case (.number(let a), .number(let b)): numeric.append(min(a, b)...max(a, b))
            case (.number(let a), .star), (.star, .number(let a)):
                hasStar = true
                starLow = min(starLow ?? a, a)
                starHigh = max(starHigh ?? a, a)
            case (.star, .star): hasStar = true
            }
        }
        numbers = Self.merged(numeric)
    }

    /// `$`: the result of the last SEARCH (RFC 5182); not supported, never produced.
    public static func == (a: Self, b: Self) -> Bool {
        a.ranges.count == b.ranges.count && zip(a.ranges, b.ranges).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    /// The largest number written in the set, if any.
    var largestNumber: UInt32? {
        [numbers.last?.upperBound, starHigh].compactMap { $0 }.max()
    }

    /// The values the set names when `*` means `largest`, as sorted, disjoint ranges.
    public func resolved(largest: UInt32) -> [ClosedRange<UInt32>] {
        guard hasStar else { return numbers }
        let star = min(starLow ?? largest, largest)...max(starHigh ?? largest, largest)
        return Self.merged(numbers + [star])
    }

    /// Whether `value` is in the set when `*` means `largest`.
    public func contains(_ value: UInt32, largest: UInt32) -> Bool {
        if hasStar, (min(starLow ?? largest, largest)...max(starHigh ?? largest, largest)).contains(value) { return true }
        var low = 0, high = numbers.count
        while low < high {
            let mid = (low + high) / 2
            if numbers[mid].upperBound < value { low = mid + 1 } else { high = mid }
        }
        return low < numbers.count && numbers[low].contains(value)
    }

    /// The members among `sortedValues` (ascending), in ascending order, each once.
    public func members(of sortedValues: [UInt32]) -> [UInt32] {
        guard let largest = sortedValues.last else { return [] }
        var result: [UInt32] = []
        for range in resolved(largest: largest) {
            var index = Self.firstIndex(notBelow: range.lowerBound, in: sortedValues)
            while index < sortedValues.count, sortedValues[index] <= range.upperBound {
                result.append(sortedValues[index])
                index += 1
            }
        }
        return result
    }

    static func firstIndex(notBelow value: UInt32, in sorted: [UInt32]) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] < value { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// `ranges` sorted, overlapping and adjacent ones joined.
    private static func merged(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var result: [ClosedRange<UInt32>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = result.last, range.lowerBound <= last.upperBound || range.lowerBound - last.upperBound == 1 {
                result[result.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                result.append(range)
            }
        }
        return result
    }
}

/// One item of FETCH (RFC 9051 section 6.4.5).
public enum IMAPFetchAttribute: Sendable, Equatable {
    case uid, flags, internalDate, rfc822Size, envelope, bodyStructure, body
    /// MODSEQ (RFC 7162 section 3.1.4).
    case modSeq
    /// PREVIEW (RFC 8970 section 3): `lazy`, the LAZY modifier, allows NIL where the
    /// preview is not at hand; Postgate makes it anyway, as Dovecot does.
    case preview(lazy: Bool)
    /// SAVEDATE (RFC 8514 section 4.1): when the message was saved into this mailbox.
    case saveDate
    /// EMAILID and THREADID (RFC 8474 sections 5.1, 5.2).
    case emailID, threadID
    case rfc822, rfc822Header, rfc822Text
    case section(IMAPSection, peek: Bool, partial: ClosedRange<Int>?)
}

/// A body section (RFC 9051 section 6.4.5, `section`): a part path and what of it.
public struct IMAPSection: Sendable, Equatable {
    public enum Text: Sendable, Equatable {
        case full, header, text, mime
        case headerFields([String]), headerFieldsNot([String])
    }
    /// Part numbers, `[]` for the whole message.
    public var part: [Int]
    public var text: Text

    public init(part: [Int] = [], text: Text = .full) {
        self.part = part
        self.text = text
    }

    /// The section as written in the response (`1.HEADER.FIELDS (FROM TO)`).
    public var description: String {
        var items = part.map(String.init)
        switch text {
        case .full: break
        case .header: items.append("HEADER")
        case .text: items.append("TEXT")
        case .mime: items.append("MIME")
        case .headerFields(let names): items.append("HEADER.FIELDS (" + names.joined(separator: " ") + ")")
        case .headerFieldsNot(let names): items.append("HEADER.FIELDS.NOT (" + names.joined(separator: " ") + ")")
        }
        return items.joined(separator: ".")
    }
}

/// A search key (RFC 9051 section 6.4.4).
public indirect enum IMAPSearchKey: Sendable, Equatable {
    case all
    case and([IMAPSearchKey])
    case or(IMAPSearchKey, IMAPSearchKey)
    case not(IMAPSearchKey)
    case sequence(IMAPSequenceSet)
    case uid(IMAPSequenceSet)
    case flag(String, set: Bool)
    case new, old, recent
    case header(String, String)
    case body(String)
    case text(String)
    case before(IMAPDay), on(IMAPDay), since(IMAPDay)
    case sentBefore(IMAPDay), sentOn(IMAPDay), sentSince(IMAPDay)
    case larger(Int), smaller(Int)
    /// MODSEQ: a mod-sequence at least this (RFC 7162 section 3.1.5); the entry name is ignored.
    case modSeq(UInt64)
    /// SAVEDBEFORE, SAVEDON, SAVEDSINCE (RFC 8514 section 4.2): the day of the save date.
    case savedBefore(IMAPDay), savedOn(IMAPDay), savedSince(IMAPDay)
    /// SAVEDATESUPPORTED (RFC 8514 section 4.2): every message, as every mailbox keeps save dates.
    case saveDateSupported
    /// EMAILID and THREADID (RFC 8474 section 6): the messages with that identifier.
    case emailID(String), threadID(String)
}
