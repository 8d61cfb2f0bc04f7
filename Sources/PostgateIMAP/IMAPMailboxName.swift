import PostgateStore
import PostgateIndex

/// Mailbox names (RFC 9051 section 5.1): `/` separates levels, INBOX is case-insensitive,
/// `*` and `%` are LIST wildcards (section 6.3.9), and parents that are not mailboxes
/// themselves (`Shared`) are listed as `\Noselect`.
enum IMAPMailboxName {
    static let maxLength = 255

    /// `INBOX` in any case becomes `INBOX` (also as the first level); trailing `/`s go.
    /// Linear in the name's length, however many `/`s it ends with.
    static func normalize(_ name: String) -> String {
        var bytes = Array(name.utf8)
        while bytes.count > 1, bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        let inbox = Array("INBOX".utf8)
        if bytes.count >= 5, bytes.count == 5 || bytes[5] == UInt8(ascii: "/"),
           zip(bytes[0..<5], inbox).allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0) == $1 }) {
            bytes.replaceSubrange(0..<5, with: inbox)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Checks a name for CREATE or RENAME: not empty, no wildcards, controls, empty levels
    /// or levels `.` and `..` (clients that map names to paths would leave the folder
    /// tree, so Dovecot refuses them too), not in the shared namespace.
    static func validateNew(_ name: String) throws(IMAPCommandFailure) -> String {
        let name = normalize(name)
        guard !name.isEmpty, name.utf8.count <= maxLength * 4, name.count <= maxLength,
              !name.contains(where: { $0 == "*" || $0 == "%" || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } == true }),
              !name.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0.isEmpty || $0 == "." || $0 == ".." })
        else { throw IMAPCommandFailure("Invalid mailbox name", code: "CANNOT") }
        guard !(name + "/").hasPrefix(VisibleMailbox.sharedPrefix) else {
            throw IMAPCommandFailure("Shared mailboxes are made by the administrator", code: "NOPERM")
        }
        return name
    }

    /// LIST pattern matching (RFC 9051 section 6.3.9): `*` matches anything, `%` anything
    /// but `/`. The pattern runs as a set of positions over the name, one step per
    /// character: time in proportion to the name's length times the pattern's, never
    /// exponential however many wildcards the pattern has.
    static func matches(_ name: String, pattern: String) -> Bool {
        let normalizedPattern = pattern.utf8.count >= 5 && pattern.prefix(5).uppercased() == "INBOX" ? normalize(pattern) : pattern
        let pattern = Array(normalizedPattern.unicodeScalars)
        var positions = [Bool](repeating: false, count: pattern.count + 1)
        var next = positions
        positions[0] = true
        closeOverWildcards(&positions, pattern)
        for scalar in name.unicodeScalars {
            for j in next.indices { next[j] = false }
            var any = false
            for j in pattern.indices where positions[j] {
                switch pattern[j] {
                case "*": next[j] = true
                case "%" where scalar != "/": next[j] = true
                case "%": continue
                case scalar: next[j + 1] = true
                default: continue
                }
                any = true
            }
            guard any else { return false }
            closeOverWildcards(&next, pattern)
            swap(&positions, &next)
        }
        return positions[pattern.count]
    }

    /// Adds the positions reached by letting a wildcard match nothing.
    private static func closeOverWildcards(_ positions: inout [Bool], _ pattern: [Unicode.Scalar]) {
        for j in pattern.indices where positions[j] && (pattern[j] == "*" || pattern[j] == "%") {
            positions[j + 1] = true
        }
    }

    /// INBOX first, then by name.
    static func sorted(_ names: Set<String>) -> [String] {
        names.sorted { a, b in
            if a == "INBOX" { return b != "INBOX" }
            if b == "INBOX" { return false }
            return a < b
        }
    }

    struct Entry {
        var name: String
        /// Nil for a parent that is only a level (`\Noselect`).
        var mailbox: VisibleMailbox?
        var hasChildren: Bool
    }

    /// Every mailbox plus the implied parents, in order, with child information.
    static func listing(_ mailboxes: [VisibleMailbox]) -> [Entry] {
        var byName: [String: VisibleMailbox] = [:]
        for mailbox in mailboxes { byName[mailbox.name] = mailbox }
        var names = Set(byName.keys)
        for name in byName.keys {
            var parts = name.split(separator: "/").dropLast()
            while !parts.isEmpty {
                names.insert(parts.joined(separator: "/"))
                parts = parts.dropLast()
            }
        }
        return sorted(names).map { name in
            Entry(name: name, mailbox: byName[name], hasChildren: names.contains { $0.hasPrefix(name + "/") })
        }
    }
}
