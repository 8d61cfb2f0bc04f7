/// A mailbox `local-part@domain` as RFC 5321 section 4.1.2 defines it for SMTP paths, with
/// the UTF-8 local parts of RFC 6531 section 3.3.
///
/// The local part keeps the case it was written in; `canonical` folds it to lower case so
/// that `Support@acme.com` and `support@ACME.com` find the same hosted address (what every
/// mainstream mail server does, although RFC 5321 section 2.4 lets the receiving host treat
/// local parts as case-sensitive).
public struct EmailAddress: Hashable, Sendable, CustomStringConvertible {
    /// The local part without quoting: for `"a b"@x.org` this is `a b`.
    public let localPart: String
    public let domain: DomainName

    public init(localPart: String, domain: DomainName) {
        self.localPart = localPart
        self.domain = domain
    }

    /// Parses an address as an administrator or an SMTP path writes it.
    public init(_ text: String) throws(EmailAddressError) {
        let parsed = try MailboxSyntax.parse(Array(text.utf8))
        let domain: DomainName
        do { domain = try DomainName(parsed.domain) } catch { throw .domain(error) }
        self.init(localPart: parsed.localPart, domain: domain)
    }

    /// The form used as a key: lower-case local part, canonical (A-label) domain.
    public var canonical: String { localPart.lowercased() + "@" + domain.ascii }

    /// The form to show people: the local part as written, the domain in Unicode.
    public var display: String { MailboxSyntax.quoteIfNeeded(localPart) + "@" + domain.unicode }

    /// The form to write in an SMTP path or header: quoted where RFC 5321 requires it.
    public var description: String { MailboxSyntax.quoteIfNeeded(localPart) + "@" + domain.ascii }

    /// True if the local part holds characters that old relays treat as routing: `@` (only
    /// possible inside a quoted string), `%` (the "percent hack") and `!` (UUCP bang paths).
    /// A gateway that honoured any of them could be made an open relay.
    public var hasRoutingCharacters: Bool {
        localPart.utf8.contains { $0 == UInt8(ascii: "@") || $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "!") }
    }
}

extension EmailAddress: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Why a text is not a usable mailbox.
public enum EmailAddressError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingAt
    case emptyLocalPart
    case localPartTooLong
    case invalidLocalPart
    case unterminatedQuote
    case domain(DomainNameError)
    case addressLiteral

    public var description: String {
        switch self {
        case .missingAt: "the address has no '@domain' part"
        case .emptyLocalPart: "the part before '@' is empty"
        case .localPartTooLong: "the part before '@' is longer than 64 octets"
        case .invalidLocalPart: "the part before '@' has characters that need quoting, or dots in the wrong place"
        case .unterminatedQuote: "a quoted part before '@' is not closed"
        case .domain(let e): e.description
        case .addressLiteral: "address literals like [192.0.2.1] are not accepted"
        }
    }
}
