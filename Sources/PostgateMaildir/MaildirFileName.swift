/// The name of a delivered message file: `<unique>,S=<size>,U=<uid>[,P=<policy>][:2,<flags>]`.
///
/// `S=` is the size convention of Courier and Dovecot (clients may use it without a
/// `stat`); `U=` carries the IMAP UID so that rebuilding the index from the Maildir keeps
/// every UID, as Dovecot's `dovecot-uidlist` does. The `:2,` info part holds the Maildir
/// flags once a message moves to `cur/`; the index stores the name without it.
///
/// `P=` carries the inbound policy's label of this copy (`message.policy`: `auto-reply`,
/// `blocked`, `own-reply`, `quarantined:<reason>`), percent-encoded (RFC 3986 section 2.1)
/// so `:` and `,` cannot break the name, so that `rebuildIndex` keeps it. The file name is
/// the robust place for it:
/// - it is per mailbox, like the label: one inode is hard-linked into the address's
///   mailbox, an agents' queue or the quarantine, and only some of those copies are
///   labelled; a header field in the shared file could not say which;
/// - it is decided with the label, in the index transaction (the committed name is what
///   the rename into `new/` and crash recovery use), so file and row always agree; a header
///   would mean rewriting the spooled message after the policy decision;
/// - the sender cannot forge it, as it could an `X-Postgate-Policy` header field;
/// - recomputing the verdict from the file would not give the label of the day: the
///   blocklist, the allowed domains and the session key may have changed since.
/// Dovecot and Courier ignore `,X=` fields they do not know; mutt and Python's `mailbox`
/// treat the base name as opaque.
package struct MaildirFileName: Sendable, Equatable {
    package var uniqueName: String
    package var size: Int
    package var uid: UInt32
    /// The policy label of this copy, nil for an ordinary message.
    package var policy: String?

    /// The base name, without any `:2,` info part.
    package var baseName: String {
        "\(uniqueName),S=\(size),U=\(uid)" + (policy.map { ",P=" + Self.percentEncoded($0) } ?? "")
    }

    package init(uniqueName: String, size: Int, uid: UInt32, policy: String? = nil) {
        self.uniqueName = uniqueName
        self.size = size
        self.uid = uid
        self.policy = policy
    }

    /// The unique name of a delivered file: what it was called in `tmp/` before the rename
    /// into `new/` gave it its `,S=…,U=…` fields. A cheap prefix, for the read path.
    package static func uniqueName(of filename: String) -> String {
        filename.firstIndex(of: ",").map { String(filename[..<$0]) } ?? filename
    }

    /// Parses a file name from `new/` or `cur/`; nil if it carries no `U=` (not Postgate's).
    package init?(parsing name: String) {
        let base = name.split(separator: ":", maxSplits: 1).first.map(String.init) ?? name
        let parts = base.split(separator: ",")
        guard parts.count >= 2 else { return nil }
        var size: Int?
        var uid: UInt32?
        var policy: String?
        for part in parts.dropFirst() {
            if part.hasPrefix("S=") { size = Int(part.dropFirst(2)) }
            if part.hasPrefix("U=") { uid = UInt32(part.dropFirst(2)) }
            if part.hasPrefix("P=") { policy = Self.percentDecoded(part.dropFirst(2)) }
        }
        guard let uid, uid > 0 else { return nil }
        self.init(uniqueName: String(parts[0]), size: size ?? 0, uid: uid, policy: policy)
    }

    /// The Maildir flag letters after `:2,` (the Maildir convention: D, F, P, R, S, T), if any.
    package static func flags(in name: String) -> String {
        guard let range = name.range(of: ":2,") else { return "" }
        return String(name[range.upperBound...])
    }

    /// Every byte but ASCII letters, digits, `-`, `.` and `_` as `%XX`.
    package static func percentEncoded(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            if byte < 0x80 && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "-._".unicodeScalars.contains(scalar)) {
                result.unicodeScalars.append(scalar)
            } else {
                result += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0xF, radix: 16, uppercase: true)
            }
        }
        return result
    }

    /// Undoes `percentEncoded`; nil for a malformed escape or bytes that are not UTF-8.
    package static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                index = utf8.index(after: index)
                continue
            }
            guard let end = utf8.index(index, offsetBy: 3, limitedBy: utf8.endIndex),
                  let value = UInt8(String(decoding: utf8[utf8.index(after: index)..<end], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(value)
            index = end
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
