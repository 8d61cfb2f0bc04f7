import Foundation
import PostgatePolicy

/// One blocklist entry of a receiving address, as the index holds it.
///
/// The JSON form (`postgate blocklist list --json`) has the keys `address`, `kind`
/// (`address` or `domain`), `entry` (as shown to people, Unicode domain), `value`
/// (canonical, A-label domain) and `createdAt`.
public struct BlocklistRecord: Sendable, Equatable, Codable {
    /// The receiving address (canonical) whose blocklist this is.
    public var address: String
    public var kind: BlocklistEntry.Kind
    public var entry: String
    public var value: String
    public var createdAt: Date

    public var blocklistEntry: BlocklistEntry { BlocklistEntry(kind: kind, value: value, display: entry) }
}
