import Foundation
import PostgateIndex
import PostgateMaildir

extension MessageSummary {
    /// When the message was saved into its mailbox (SAVEDATE, RFC 8514 section 4.1), read
    /// from its file: a Maildir unique name starts with the seconds since 1970 at which the
    /// file was made in that Maildir (delivery, APPEND, COPY and MOVE each make one), and
    /// it survives a RENAME, a backup and a rebuilt index. A name that does not start so
    /// (a file put there by other software) gives the internal date. Needs the details
    /// (`hasDetails`).
    var saveDate: Date {
        let unique = MaildirFileName.uniqueName(of: filename)
        guard let seconds = unique.split(separator: ".", maxSplits: 1).first.flatMap({ Int($0) }), seconds > 0 else {
            return internalDate
        }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}
