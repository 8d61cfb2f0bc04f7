/// The fetch-cache items (`CachedFetchItems`) of a run of messages, read in one query
/// for one FETCH batch: the octets of all of them in one buffer, found by UID.
///
/// A FETCH 1:* (ENVELOPE) of a 10,000-message mailbox reads 10,000 rows; one buffer per
/// batch instead of three arrays and a dictionary entry per message keeps that to one copy
/// of each item out of SQLite and one into the response.
public struct CachedFetchBatch: Sendable {
    /// One cached item.
    public enum Item: Int, Sendable, CaseIterable {
        case envelope, bodyStructure, body
    }

    private struct Entry {
        var uid: UInt32
        /// Where each item (by `Item.rawValue`) starts in `octets`; the next one's start ends it.
        var starts: (Int, Int, Int, Int)
    }

    private var octets: [UInt8] = []
    /// In ascending UID order.
    private var entries: [Entry] = []

    public init() {}

    /// The number of messages with a cache row.
    public var count: Int { entries.count }

    /// The position of the message with `uid`, or nil when it has no cache row.
    public func position(of uid: UInt32) -> Int? {
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].uid < uid { low = mid + 1 } else { high = mid }
        }
        return low < entries.count && entries[low].uid == uid ? low : nil
    }

    /// The octets of `item` of the message at `position` (empty when it was not read).
    public func octets(_ item: Item, at position: Int) -> ArraySlice<UInt8> {
        let starts = entries[position].starts
        switch item {
        case .envelope: return octets[starts.0..<starts.1]
        case .bodyStructure: return octets[starts.1..<starts.2]
        case .body: return octets[starts.2..<starts.3]
        }
    }

    /// The items of the message at `position`.
    public func items(at position: Int) -> CachedFetchItems {
        CachedFetchItems(envelope: Array(octets(.envelope, at: position)), bodyStructure: Array(octets(.bodyStructure, at: position)),
                         body: Array(octets(.body, at: position)))
    }

    /// The UIDs, ascending.
    public var uids: [UInt32] { entries.map(\.uid) }

    /// Adds the next message (UIDs must ascend) with its items in `Item` order; `item(i)`
    /// appends the octets of item `i` (or nothing) to the buffer it is given.
    package mutating func append(uid: UInt32, _ item: (Item, inout [UInt8]) throws -> Void) rethrows {
        let start = octets.count
        try item(.envelope, &octets)
        let bodyStructure = octets.count
        try item(.bodyStructure, &octets)
        let body = octets.count
        try item(.body, &octets)
        entries.append(Entry(uid: uid, starts: (start, bodyStructure, body, octets.count)))
    }
}
