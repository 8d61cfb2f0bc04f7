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
/// (RFC 6154), SORT and THREAD (RFC 5256), CONDSTORE (RFC 7162 section 3.1).
public enum IMAPCommand: Sendable, Equatable {
    case capability
    case noop
    case logout
    case startTLS
    case login(user: String, password: String)
    case authenticate(mechanism: String, initialResponse: String?)
    /// `condStore`: the `(CONDSTORE)` parameter (RFC 7162 section 3.1.8).
    case select(mailbox: String, readOnly: Bool, condStore: Bool = false)
    case create(mailbox: String)
    case delete(mailbox: String)
    case rename(from: String, to: String)
    case subscribe(mailbox: String)
    case unsubscribe(mailbox: String)
    case list(reference: String, patterns: [String], options: ListOptions)
    case lsub(reference: String, pattern: String)
    case status(mailbox: String, items: [StatusItem])
    /// The message itself is not here: the handler streams it to a spool file as it
    /// arrives (`IMAPAppendUpload`); `size` is its literal's octet count.
    case append(mailbox: String, flags: [String], date: Date?, size: Int)
    case check
    case close
    case unselect
    case expunge(uids: IMAPSequenceSet?)
    case search(key: IMAPSearchKey, uid: Bool, returnOptions: [String]?)
    /// `changedSince`: the CHANGEDSINCE modifier (RFC 7162 section 3.1.4.1).
    case fetch(set: IMAPSequenceSet, attributes: [IMAPFetchAttribute], uid: Bool, changedSince: UInt64? = nil)
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
        public var returnSpecialUse = false
        public var returnSubscribed = false
        public var returnChildren = false
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

/// A sequence set (RFC 9051 section 9, `sequence-set`): numbers and ranges, `*` the largest.
public struct IMAPSequenceSet: Sendable, Equatable {
    public enum Bound: Sendable, Equatable {
        case number(UInt32)
        case star
    }
    public var ranges: [(Bound, Bound)]

    public init(ranges: [(Bound, Bound)]) { self.ranges = ranges }

    /// `$`: the result of the last SEARCH (RFC 5182); not supported, never produced.
    public static func == (a: Self, b: Self) -> Bool {
        a.ranges.count == b.ranges.count && zip(a.ranges, b.ranges).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    /// Whether `value` is in the set when `*` means `largest`.
    public func contains(_ value: UInt32, largest: UInt32) -> Bool {
        ranges.contains { low, high in
            let a = resolve(low, largest), b = resolve(high, largest)
            return (min(a, b)...max(a, b)).contains(value)
        }
    }

    private func resolve(_ bound: Bound, _ largest: UInt32) -> UInt32 {
        switch bound {
        case .number(let n): n
        case .star: largest
        }
    }

    /// The members among `sortedValues` (ascending), in ascending order, each once.
    public func members(of sortedValues: [UInt32]) -> [UInt32] {
        guard let largest = sortedValues.last else { return [] }
        var result: [UInt32] = []
        for (low, high) in ranges {
            let a = resolve(low, largest), b = resolve(high, largest)
            let lower = min(a, b), upper = max(a, b)
            var index = Self.firstIndex(notBelow: lower, in: sortedValues)
            while index < sortedValues.count, sortedValues[index] <= upper {
                result.append(sortedValues[index])
                index += 1
            }
        }
        return ranges.count == 1 ? result : Array(Set(result)).sorted()
    }

    static func firstIndex(notBelow value: UInt32, in sorted: [UInt32]) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] < value { low = mid + 1 } else { high = mid }
        }
        return low
    }
}

/// One item of FETCH (RFC 9051 section 6.4.5).
public enum IMAPFetchAttribute: Sendable, Equatable {
    case uid, flags, internalDate, rfc822Size, envelope, bodyStructure, body
    /// MODSEQ (RFC 7162 section 3.1.4).
    case modSeq
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
}
