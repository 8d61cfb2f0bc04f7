/// The name of a delivered message file: `<unique>,S=<size>,U=<uid>[:2,<flags>]`.
///
/// `S=` is the size convention of Courier and Dovecot (clients may use it without a
/// `stat`); `U=` carries the IMAP UID so that rebuilding the index from the Maildir keeps
/// every UID, as Dovecot's `dovecot-uidlist` does. The `:2,` info part holds the Maildir
/// flags once a message moves to `cur/`; the index stores the name without it.
struct MaildirFileName: Sendable, Equatable {
    var uniqueName: String
    var size: Int
    var uid: UInt32

    /// The base name, without any `:2,` info part.
    var baseName: String { "\(uniqueName),S=\(size),U=\(uid)" }

    init(uniqueName: String, size: Int, uid: UInt32) {
        self.uniqueName = uniqueName
        self.size = size
        self.uid = uid
    }

    /// Parses a file name from `new/` or `cur/`; nil if it carries no `U=` (not Postgate's).
    init?(parsing name: String) {
        let base = name.split(separator: ":", maxSplits: 1).first.map(String.init) ?? name
        let parts = base.split(separator: ",")
        guard parts.count >= 2 else { return nil }
        var size: Int?
        var uid: UInt32?
        for part in parts.dropFirst() {
            if part.hasPrefix("S=") { size = Int(part.dropFirst(2)) }
            if part.hasPrefix("U=") { uid = UInt32(part.dropFirst(2)) }
        }
        guard let uid, uid > 0 else { return nil }
        self.init(uniqueName: String(parts[0]), size: size ?? 0, uid: uid)
    }

    /// The Maildir flag letters after `:2,` (the Maildir convention: D, F, P, R, S, T), if any.
    static func flags(in name: String) -> String {
        guard let range = name.range(of: ":2,") else { return "" }
        return String(name[range.upperBound...])
    }
}
