import CIDN2

/// A fully qualified domain name in its canonical forms.
///
/// Mail for an internationalised domain can arrive with the domain written either as
/// U-labels (`bücher.example`, RFC 6531 / SMTPUTF8) or as A-labels
/// (`xn--bcher-kva.example`). Both must find the same hosted domain, so every domain is
/// reduced to one canonical ASCII form (lower-case A-labels) with libidn2 (IDNA2008,
/// RFC 5890–5891, with UTS #46 mapping for lookups).
///
/// libidn2 accepts empty labels and trailing dots, so the label syntax of
/// RFC 5321 section 4.1.2 (`Domain = sub-domain *("." sub-domain)`) and the length limits
/// of RFC 1035 section 2.3.4 are checked here after the conversion.
public struct DomainName: Hashable, Sendable, CustomStringConvertible, Codable {
    /// The canonical form: lower-case ASCII, internationalised labels as `xn--` A-labels.
    public let ascii: String
    /// The display form: A-labels turned back into Unicode (equal to `ascii` for plain names).
    public let unicode: String

    /// Parses and normalises `text`, written with U-labels or A-labels in any case.
    /// - Throws: `DomainNameError` naming what is wrong.
    public init(_ text: String) throws(DomainNameError) {
        guard !text.isEmpty else { throw .empty }
        guard text.utf8.count <= 255 else { throw .tooLong }
        // libidn2 reads C strings: a NUL would silently cut the name short.
        guard !text.utf8.contains(0) else { throw .invalidCharacter(text) }
        let ascii: String
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            ascii = text.lowercased()
        } else {
            ascii = try Self.toASCII(text)
        }
        try Self.checkSyntax(ascii)
        self.ascii = ascii
        self.unicode = try Self.checkedUnicode(ascii)
    }

    /// The Unicode form of `ascii`. A name written with A-labels is only valid if they
    /// decode to valid U-labels that encode back to the same A-labels (RFC 5891 section 5.4),
    /// so `xn--` garbage is refused instead of becoming a second name for nothing.
    private static func checkedUnicode(_ ascii: String) throws(DomainNameError) -> String {
        guard ascii.contains("xn--") else { return ascii }
        guard let unicode = toUnicode(ascii) else { throw .idna("'\(ascii)' has an invalid A-label") }
        guard try toASCII(unicode) == ascii else { throw .idna("'\(ascii)' has an A-label that is not in canonical form") }
        return unicode
    }

    public var description: String { ascii }

    /// True if the name is an address literal (`[192.0.2.1]`), which never names a hosted domain.
    public static func isAddressLiteral(_ text: String) -> Bool {
        text.hasPrefix("[") && text.hasSuffix("]")
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(ascii)
    }

    // MARK: - Syntax (RFC 5321 section 4.1.2, RFC 1035 section 2.3.4)

    private static func checkSyntax(_ ascii: String) throws(DomainNameError) {
        guard ascii.utf8.count <= 253 else { throw .tooLong }
        let labels = ascii.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { throw .notFullyQualified }
        for label in labels {
            try checkLabel(label)
        }
        // A top-level label that is all digits would make the name look like an IPv4 address.
        if let last = labels.last, last.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            throw .numericTopLevel
        }
    }

    private static func checkLabel(_ label: Substring) throws(DomainNameError) {
        guard !label.isEmpty else { throw .emptyLabel }
        guard label.utf8.count <= 63 else { throw .labelTooLong(String(label)) }
        let bytes = Array(label.utf8)
        guard bytes.allSatisfy({ isLetterDigit($0) || $0 == 0x2D }) else {
            throw .invalidCharacter(String(label))
        }
        guard isLetterDigit(bytes.first!), isLetterDigit(bytes.last!) else {
            throw .hyphenAtLabelEdge(String(label))
        }
    }

    private static func isLetterDigit(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A)
    }

    // MARK: - libidn2

    private static let lookupFlags = Int32(IDN2_NFC_INPUT.rawValue | IDN2_NONTRANSITIONAL.rawValue)

    private static func toASCII(_ text: String) throws(DomainNameError) -> String {
        var output: UnsafeMutablePointer<CChar>? = nil
        let rc = idn2_to_ascii_8z(text, &output, lookupFlags)
        defer { idn2_free(output) }
        guard rc == Int32(IDN2_OK.rawValue), let output else {
            throw .idna(String(cString: idn2_strerror(rc)))
        }
        return String(cString: output).lowercased()
    }

    private static func toUnicode(_ ascii: String) -> String? {
        guard ascii.contains("xn--") else { return ascii }
        var output: UnsafeMutablePointer<CChar>? = nil
        let rc = idn2_to_unicode_8z8z(ascii, &output, 0)
        defer { idn2_free(output) }
        guard rc == Int32(IDN2_OK.rawValue), let output else { return nil }
        return String(cString: output)
    }
}

/// Why a text is not a usable domain name.
public enum DomainNameError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case tooLong
    case notFullyQualified
    case emptyLabel
    case labelTooLong(String)
    case invalidCharacter(String)
    case hyphenAtLabelEdge(String)
    case numericTopLevel
    case idna(String)

    public var description: String {
        switch self {
        case .empty: "the domain is empty"
        case .tooLong: "the domain is longer than 253 characters"
        case .notFullyQualified: "the domain needs at least two labels, like example.com"
        case .emptyLabel: "the domain has an empty label (two dots in a row, or a leading or trailing dot)"
        case .labelTooLong(let l): "the label '\(l)' is longer than 63 characters"
        case .invalidCharacter(let l): "the label '\(l)' has a character other than letters, digits and hyphens"
        case .hyphenAtLabelEdge(let l): "the label '\(l)' starts or ends with a hyphen"
        case .numericTopLevel: "the top-level label is all digits"
        case .idna(let reason): "not a valid internationalised domain name: \(reason)"
        }
    }
}
