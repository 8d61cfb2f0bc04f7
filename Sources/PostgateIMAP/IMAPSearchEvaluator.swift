import Foundation
import PostgateStore
import PostgateIndex

/// Decides which messages match a search key (RFC 9051 section 6.4.4). Flags, sizes,
/// dates and UIDs come from the index. Text keys match decoded text (`IMAPSearchText`)
/// ignoring case in Unicode: SUBJECT, FROM, TO, CC, BCC, BODY and TEXT in the index's
/// search text, which the first such key computes from the files of the messages that
/// have none yet; other HEADER fields, and bodies longer than the index keeps, in the
/// message file, read once per message and only if needed.
///
/// What the store cannot read fails the search (`IMAPCommandFailure`, SERVERBUG): a result
/// that left out a message that might match would be wrong. A message whose file is gone
/// (expunged by another session meanwhile) matches no key that needs the file, and is
/// listed in `expunged`.
struct IMAPSearchEvaluator<Store: IMAPMailStore> {
    let store: Store
    /// The selected mailbox, with the details of its messages once a key needed them.
    private(set) var view: IMAPSelectedMailbox
    /// The UIDs of the messages whose file a key needed and found gone.
    private(set) var expunged: Set<UInt32> = []
    private var detailsRead = false
    private var cachedIndex: Int?
    private var cachedContent: IMAPFetchContent?
    /// Text keys answered from the index, by "field NUL folded value".
    /// Per search key and value as the client sent it: the folded needle and the messages
    /// the index found, so that neither is computed again for each message.
    private var indexedMatches: [String: IndexedMatch] = [:]

    private struct IndexedMatch {
        var needle: String
        var matching: Set<UInt32> = []
        var incomplete: Set<UInt32> = []
    }
    private var searchTextsReady = false
    /// The object keys (RFC 8474) of every message, once EMAILID or THREADID asked for them.
    private var loadedObjectKeys: [UInt32: MessageObjectKeys]?

    /// Search texts computed are kept in the index this many at a time.
    static var searchTextBatch: Int { 500 }

    init(store: Store, view: IMAPSelectedMailbox) {
        self.store = store
        self.view = view
    }

    /// The indexes (into `view.messages`) of the matching messages, ascending.
    mutating func matches(_ key: IMAPSearchKey) throws(IMAPCommandFailure) -> [Int] {
        var result: [Int] = []
        for index in view.messages.indices {
            if try matches(key, at: index) { result.append(index) }
        }
        return result
    }

    mutating func matches(_ key: IMAPSearchKey, at index: Int) throws(IMAPCommandFailure) -> Bool {
        switch key {
        case .all: return true
        case .and(let keys):
            for key in keys {
                if !(try matches(key, at: index)) { return false }
            }
            return true
        case .or(let a, let b):
            if try matches(a, at: index) { return true }
            return try matches(b, at: index)
        case .not(let inner): return !(try matches(inner, at: index))
        case .sequence(let set): return set.contains(UInt32(index + 1), largest: UInt32(view.messages.count))
        case .uid(let set): return set.contains(view.messages[index].uid, largest: view.messages.last?.uid ?? 0)
        case .flag(let name, let set):
            if name.lowercased() == "\\recent" { return view.isRecent(view.messages[index].uid) == set }
            return view.messages[index].flags.imapNames.contains { $0.lowercased() == name.lowercased() } == set
        // `\Recent` as this session sees it (RFC 3501 section 6.4.4: NEW is RECENT UNSEEN).
        case .new: return view.isRecent(view.messages[index].uid) && !view.messages[index].flags.isSeen
        case .recent: return view.isRecent(view.messages[index].uid)
        case .old: return !view.isRecent(view.messages[index].uid)
        case .larger(let size): return try detailed(index).size > size
        case .smaller(let size): return try detailed(index).size < size
        case .modSeq(let value): return view.messages[index].modSeq >= value
        case .before(let day): return IMAPDay(try detailed(index).internalDate) < day
        case .on(let day): return IMAPDay(try detailed(index).internalDate) == day
        case .since(let day): return IMAPDay(try detailed(index).internalDate) >= day
        case .savedBefore(let day): return IMAPDay(try detailed(index).saveDate) < day
        case .savedOn(let day): return IMAPDay(try detailed(index).saveDate) == day
        case .savedSince(let day): return IMAPDay(try detailed(index).saveDate) >= day
        case .saveDateSupported: return true
        case .emailID(let id): return try objectKeys(index).map { ObjectIDs.email($0) == id } ?? false
        case .threadID(let id): return try objectKeys(index).map { ObjectIDs.thread($0) == id } ?? false
        case .sentBefore(let day): return try sentDay(index).map { $0 < day } ?? false
        case .sentOn(let day): return try sentDay(index) == day
        case .sentSince(let day): return try sentDay(index).map { $0 >= day } ?? false
        case .header(let name, let value):
            if !value.isEmpty, let field = MessageSearchText.Field(headerName: name) { return try indexed(field, value, at: index) }
            guard let entity = try entity(index) else { return false }
            let key = name.lowercased()
            let fields = entity.fields.filter { $0.key == key }
            if value.isEmpty { return !fields.isEmpty }
            let needle = IMAPSearchText.fold(value)
            return fields.contains { IMAPTextSearch.contains(folded: IMAPSearchText.fold(IMAPSearchText.decoded($0)), needle) }
        case .body(let value):
            return try indexed(.body, value, at: index)
        case .text(let value):
            if try indexed(.header, value, at: index) { return true }
            return try indexed(.body, value, at: index)
        }
    }

    /// Whether the search text `field` of the message at `index` contains `value`.
    private mutating func indexed(_ field: MessageSearchText.Field, _ value: String, at index: Int) throws(IMAPCommandFailure) -> Bool {
        let key = field.rawValue + "\u{0}" + value
        let result: IndexedMatch
        if let known = indexedMatches[key] {
            result = known
        } else {
            var match = IndexedMatch(needle: IMAPSearchText.fold(value))
            if !match.needle.isEmpty {
                try fillSearchTexts()
                do {
                    (match.matching, match.incomplete) = try store.searchUIDs(in: view.mailbox, field: field, containing: match.needle)
                } catch {
                    throw IMAPCommandFailure("Cannot search the messages' text in the index: \(error)", code: "SERVERBUG")
                }
            }
            indexedMatches[key] = match
            result = match
        }
        let needle = result.needle
        guard !needle.isEmpty else { return true }
        let uid = view.messages[index].uid
        if result.matching.contains(uid) { return true }
        guard result.incomplete.contains(uid), let entity = try entity(index) else { return false }
        return IMAPTextSearch.contains(folded: IMAPSearchText.make(entity, bodyLimit: nil).body, needle)
    }

    /// Computes the search text of the messages that have none in the index yet, from
    /// their files, and keeps it there; a message whose file is gone gets none.
    private mutating func fillSearchTexts() throws(IMAPCommandFailure) {
        guard !searchTextsReady else { return }
        searchTextsReady = true
        let missing: [UInt32]
        do {
            missing = try store.uidsWithoutSearchText(in: view.mailbox)
        } catch {
            throw IMAPCommandFailure("Cannot read which messages the search index lacks: \(error)", code: "SERVERBUG")
        }
        guard !missing.isEmpty else { return }
        let positions = Dictionary(view.messages.indices.map { (view.messages[$0].uid, $0) }, uniquingKeysWith: { a, _ in a })
        var pending: [UInt32: MessageSearchText] = [:]
        for uid in missing {
            guard let index = positions[uid] else { continue }  // arrived after this session looked
            guard let entity = try entity(index) else { continue }
            pending[uid] = IMAPSearchText.make(entity)
            if pending.count >= Self.searchTextBatch { try keep(&pending) }
        }
        try keep(&pending)
    }

    private func keep(_ texts: inout [UInt32: MessageSearchText]) throws(IMAPCommandFailure) {
        guard !texts.isEmpty else { return }
        do {
            try store.storeSearchTexts(texts, in: view.mailbox)
        } catch {
            throw IMAPCommandFailure("Cannot keep the messages' search text in the index: \(error)", code: "SERVERBUG")
        }
        texts = [:]
    }

    /// The message file, read once while the evaluation stays on one message; nil if it is gone.
    private mutating func content(_ index: Int) throws(IMAPCommandFailure) -> IMAPFetchContent? {
        if cachedIndex == index { return cachedContent }
        let message = try detailed(index)
        cachedIndex = index
        cachedContent = nil
        let bytes: [UInt8]?
        do {
            bytes = try store.content(of: message, in: view.mailbox)
        } catch {
            throw IMAPCommandFailure("Cannot read message UID \(message.uid): \(error)", code: "SERVERBUG")
        }
        guard let bytes else {
            expunged.insert(message.uid)
            return nil
        }
        cachedContent = IMAPFetchContent(bytes)
        return cachedContent
    }

    /// The message with its size, date and file name: the first key that needs them reads
    /// them for the whole mailbox, in one query (flag, UID and MODSEQ keys never do).
    /// The object keys of the message at `index`, read for the whole mailbox at once; nil
    /// for a message expunged by another session meanwhile.
    private mutating func objectKeys(_ index: Int) throws(IMAPCommandFailure) -> MessageObjectKeys? {
        let uid = view.messages[index].uid
        if let loadedObjectKeys { return loadedObjectKeys[uid] }
        guard let first = view.messages.first?.uid, let last = view.messages.last?.uid else { return nil }
        do {
            let keys = try store.objectKeys(in: view.mailbox, uids: first...last)
            loadedObjectKeys = keys
            return keys[uid]
        } catch {
            throw IMAPCommandFailure("Cannot read the messages' identifiers: \(error)", code: "SERVERBUG")
        }
    }

    private mutating func detailed(_ index: Int) throws(IMAPCommandFailure) -> MessageSummary {
        if !detailsRead, !view.messages[index].hasDetails {
            detailsRead = true
            do {
                try view.loadDetails(view.messages.indices, from: store)
            } catch {
                throw IMAPCommandFailure("Cannot read the messages' sizes and dates: \(error)", code: "SERVERBUG")
            }
        }
        return view.messages[index]
    }

    private mutating func entity(_ index: Int) throws(IMAPCommandFailure) -> IMAPMessageEntity? {
        guard try content(index) != nil else { return nil }
        return cachedContent?.entity()
    }

    private mutating func sentDay(_ index: Int) throws(IMAPCommandFailure) -> IMAPDay? {
        guard let value = try entity(index)?.field("Date"), let date = IMAPSentDate.parse(value) else { return nil }
        return IMAPDay(date.date, secondsFromGMT: date.offset)
    }
}

/// Case-insensitive text search for SEARCH keys (RFC 9051 section 6.4.4: "case-insensitive
/// substring").
enum IMAPTextSearch {
    static func contains(_ haystack: String, _ needle: String) -> Bool {
        haystack.range(of: needle, options: [.caseInsensitive]) != nil
    }

    /// Whether `needle` occurs in `haystack`, both folded by `IMAPSearchText.fold`: a
    /// comparison of octets, as the index makes it.
    static func contains(folded haystack: String, _ needle: String) -> Bool {
        contains(Array(haystack.utf8)[...], needle)
    }

    /// Case-insensitive search in raw octets: ASCII folding on the bytes, and a Unicode
    /// comparison when the needle is not ASCII.
    static func contains(_ haystack: ArraySlice<UInt8>, _ needle: String) -> Bool {
        let pattern = Array(needle.utf8).map(lowerASCII)
        guard !pattern.isEmpty else { return true }
        if pattern.contains(where: { $0 >= 0x80 }) {
            return contains(String(decoding: haystack, as: UTF8.self), needle)
        }
        return haystack.withUnsafeBufferPointer { hay in pattern.withUnsafeBufferPointer { search(hay, $0) } }
    }

    /// Whether `pattern` (ASCII, lower case) occurs in `hay`, ignoring ASCII case: a scan
    /// for the first octet in either case, then a comparison, over the raw buffer.
    private static func search(_ hay: UnsafeBufferPointer<UInt8>, _ pattern: UnsafeBufferPointer<UInt8>) -> Bool {
        guard hay.count >= pattern.count else { return false }
        let first = pattern[0]
        let firstUpper = (97...122).contains(first) ? first - 32 : first
        let last = hay.count - pattern.count
        var index = 0
        while index <= last {
            let byte = hay[index]
            if byte == first || byte == firstUpper {
                var k = 1
                while k < pattern.count, lowerASCII(hay[index + k]) == pattern[k] { k += 1 }
                if k == pattern.count { return true }
            }
            index += 1
        }
        return false
    }

    private static func lowerASCII(_ byte: UInt8) -> UInt8 {
        (65...90).contains(byte) ? byte + 32 : byte
    }
}

/// The `Date:` field of a message (RFC 5322 section 3.3), leniently, for SENT* keys and SORT.
enum IMAPSentDate {
    static func parse(_ value: String) -> (date: Date, offset: Int)? {
        var words = IMAPHeaderValue.stripComments(value).replacingOccurrences(of: ",", with: " ")
            .split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        if let first = words.first, Int(first) == nil { words.removeFirst() }
        guard words.count >= 4, let day = IMAPDay("\(words[0])-\(words[1])-\(fullYear(words[2]))") else { return nil }
        let clock = words[3].split(separator: ":").compactMap { Int($0) }
        guard clock.count >= 2 else { return nil }
        var offset = 0
        if words.count >= 5, let zone = Int(words[4]), words[4].count == 5 {
            offset = (abs(zone) / 100 * 3600 + abs(zone) % 100 * 60) * (zone < 0 ? -1 : 1)
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        guard let midnight = calendar.date(from: DateComponents(year: day.year, month: day.month, day: day.day)) else { return nil }
        let seconds = clock[0] * 3600 + clock[1] * 60 + (clock.count > 2 ? clock[2] : 0) - offset
        return (midnight.addingTimeInterval(TimeInterval(seconds)), offset)
    }

    private static func fullYear(_ text: String) -> String {
        guard let year = Int(text), text.count <= 2 else { return text }
        return String(year < 50 ? 2000 + year : 1900 + year)
    }
}
