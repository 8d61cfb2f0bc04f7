import Foundation
import GRDB
import PostgateMaildir

/// Allocates CONDSTORE mod-sequences (RFC 7162 section 3.1): strictly increasing per
/// mailbox, and at least the current time in microseconds, so that an index rebuilt from
/// the Maildir (whose counters restart) still hands out values above every earlier one.
/// 2^63 microseconds is far beyond any clock; one allocation per microsecond per mailbox
/// would be needed to run ahead of it.
package enum ModSequence {
    /// Microseconds since 1970, the floor of the next value.
    package static func clock() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1_000_000)
    }

    /// Raises `mailboxID`'s HIGHESTMODSEQ and returns the new value (in the caller's transaction).
    package static func next(_ db: Database, mailboxID: Int64) throws -> UInt64 {
        guard let value = try UInt64.fetchOne(
            db, cachedSQL: "UPDATE mailbox SET highest_modseq = max(highest_modseq + 1, ?) WHERE id = ? RETURNING highest_modseq",
            arguments: [clock(), mailboxID]) else {
            throw StoreError.mailboxNotFound(path: "#\(mailboxID)")
        }
        return value
    }
}
