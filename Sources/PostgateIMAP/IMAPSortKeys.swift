import Foundation
import PostgateStore

/// The values SORT and THREAD order by (RFC 5256 section 3), read once per message. A
/// message whose file is gone (expunged by another session meanwhile) is ordered by what
/// the index holds (arrival, size), its header keys empty (`fileGone`).
struct IMAPSortKeys {
    var arrival: Date
    var date: Date
    var size: Int
    var subject: IMAPBaseSubject
    var from: String
    var to: String
    var cc: String
    var messageID: String?
    var references: [String]
    var fileGone: Bool

    /// - Throws: SERVERBUG when the message file cannot be read: an order made without its
    ///   header fields would be wrong.
    init(store: some IMAPMailStore, view: IMAPSelectedMailbox, index: Int) throws(IMAPCommandFailure) {
        let message = view.messages[index]
        let bytes: [UInt8]?
        do {
            bytes = try store.content(of: message, in: view.mailbox)
        } catch {
            throw IMAPCommandFailure("Cannot read message UID \(message.uid): \(error)", code: "SERVERBUG")
        }
        let entity = bytes.map(IMAPMessageEntity.init)
        fileGone = bytes == nil
        arrival = message.internalDate
        size = message.size
        date = entity?.field("Date").flatMap(IMAPSentDate.parse)?.date ?? message.internalDate
        subject = IMAPBaseSubject(entity?.field("Subject") ?? "")
        from = Self.firstMailbox(entity?.field("From"))
        to = Self.firstMailbox(entity?.field("To"))
        cc = Self.firstMailbox(entity?.field("Cc"))
        messageID = entity?.field("Message-ID").flatMap { Self.messageIDs($0).first }
        let references = Self.messageIDs(entity?.field("References") ?? "")
        self.references = references.isEmpty ? Self.messageIDs(entity?.field("In-Reply-To") ?? "").prefix(1).map { $0 } : references
    }

    func compare(_ other: IMAPSortKeys, by key: IMAPCommand.SortCriterion.Key) -> ComparisonResult {
        switch key {
        case .arrival: Self.order(arrival, other.arrival)
        case .date: Self.order(date, other.date)
        case .size: Self.order(size, other.size)
        case .subject: subject < other.subject ? .orderedAscending : (other.subject < subject ? .orderedDescending : .orderedSame)
        case .from: Self.order(from, other.from)
        case .to: Self.order(to, other.to)
        case .cc: Self.order(cc, other.cc)
        }
    }

    private static func order<T: Comparable>(_ a: T, _ b: T) -> ComparisonResult {
        a < b ? .orderedAscending : (a > b ? .orderedDescending : .orderedSame)
    }

    /// The mailbox (local part) of the first address, lower case, for SORT FROM/TO/CC.
    static func firstMailbox(_ value: String?) -> String {
        guard let value, let first = IMAPAddressParser.parse(value).first else { return "" }
        return (first.mailbox ?? "").lowercased()
    }

    /// The `<…>` message identifiers in a field value, in order.
    static func messageIDs(_ value: String) -> [String] {
        var ids: [String] = []
        var rest = Substring(value)
        while let open = rest.firstIndex(of: "<"), let close = rest[open...].firstIndex(of: ">") {
            ids.append(String(rest[open...close]))
            rest = rest[rest.index(after: close)...]
        }
        return ids
    }
}
