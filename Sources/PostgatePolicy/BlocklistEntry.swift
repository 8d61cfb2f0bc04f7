import PostgateMessage

/// One entry of a receiving address's blocklist: a sender address or a whole domain.
///
/// Entries are kept in canonical form so that every spelling matches: the local part
/// folded to lower case, the domain as lower-case A-labels (IDNA2008, RFC 5891), so
/// `Bob@Bücher.example` and `bob@xn--bcher-kva.example` are one entry. A domain entry
/// matches the domain and every subdomain of it (`example.com` blocks `mx.example.com`).
public struct BlocklistEntry: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable {
        case address
        case domain
    }

    public let kind: Kind
    /// `local@a-label.domain` or `a-label.domain`; the key stored in the index.
    public let value: String
    /// The form to show people: the domain in Unicode.
    public let display: String

    public init(address: EmailAddress) {
        kind = .address
        value = address.canonical
        display = address.localPart.lowercased() + "@" + address.domain.unicode
    }

    public init(domain: DomainName) {
        kind = .domain
        value = domain.ascii
        display = domain.unicode
    }

    /// Parses what an administrator wrote: an address (`bob@example.com`), a domain
    /// (`example.com`) or a domain with a leading `@` or `*@` (`@example.com`).
    /// Surrounding spaces and angle brackets are ignored.
    public init(parsing text: String) throws(BlocklistEntryError) {
        var trimmed = text.trimmingSpaces()
        if trimmed.hasPrefix("<") && trimmed.hasSuffix(">") { trimmed = String(trimmed.dropFirst().dropLast()) }
        guard !trimmed.isEmpty else { throw .empty }
        // Bytes that were not UTF-8 arrive as U+FFFD; no address or domain holds one.
        guard !trimmed.unicodeScalars.contains("\u{FFFD}") else { throw .invalid(text, reason: "it is not valid UTF-8 text") }
        for prefix in ["*@", "@"] where trimmed.hasPrefix(prefix) {
            trimmed = String(trimmed.dropFirst(prefix.count))
            if trimmed.contains("@") { throw .invalid(text, reason: "a domain entry has one '@' at most") }
            do { self.init(domain: try DomainName(trimmed)) } catch { throw .invalid(text, reason: error.description) }
            return
        }
        if trimmed.contains("@") {
            do { self.init(address: try EmailAddress(trimmed)) } catch { throw .invalid(text, reason: error.description) }
        } else {
            do { self.init(domain: try DomainName(trimmed)) } catch { throw .invalid(text, reason: error.description) }
        }
    }

    /// Rebuilds an entry read back from the index.
    public init(kind: Kind, value: String, display: String) {
        self.kind = kind
        self.value = value
        self.display = display
    }

    public var description: String { display }

    /// The index keys an entry would have if it blocked `sender`: the address itself, its
    /// domain and every parent domain of two labels or more.
    public static func keys(matching sender: EmailAddress) -> [String] {
        var keys = [sender.canonical]
        var labels = sender.domain.ascii.split(separator: ".")
        while labels.count >= 2 {
            keys.append(labels.joined(separator: "."))
            labels.removeFirst()
        }
        return keys
    }

    /// True if this entry blocks `sender`.
    public func matches(_ sender: EmailAddress) -> Bool {
        Self.keys(matching: sender).contains(value)
    }
}

/// Why a text is not a blocklist entry.
public enum BlocklistEntryError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case invalid(String, reason: String)

    public var description: String {
        switch self {
        case .empty: "the entry is empty"
        case .invalid(let text, let reason): "'\(text)' is not an address or a domain: \(reason)"
        }
    }
}
