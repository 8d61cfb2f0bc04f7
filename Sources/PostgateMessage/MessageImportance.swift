/// How important the sender marked a message, from the fields mail clients write:
/// `Importance` (RFC 2156 section 5.3: high, normal, low), `Priority` (RFC 2156: urgent,
/// normal, non-urgent), `X-Priority` (1–2 high, 3 normal, 4–5 low) and `X-MSMail-Priority`
/// (High, Normal, Low), in that order; the first field present with a known value decides.
public enum MessageImportance: String, Sendable, Codable, CaseIterable {
    case high
    case normal
    case low

    public init(header: MessageHeader) {
        self = Self.read(header) ?? .normal
    }

    private static func read(_ header: MessageHeader) -> MessageImportance? {
        if let value = header["Importance"].map(Self.word), let importance = MessageImportance(rawValue: value) {
            return importance
        }
        switch header["Priority"].map(Self.word) {
        case "urgent": return .high
        case "normal": return .normal
        case "non-urgent": return .low
        default: break
        }
        if let value = header["X-Priority"]?.trimmingSpaces().first {
            switch value {
            case "1", "2": return .high
            case "3": return .normal
            case "4", "5": return .low
            default: break
            }
        }
        if let value = header["X-MSMail-Priority"].map(Self.word), let importance = MessageImportance(rawValue: value) {
            return importance
        }
        return nil
    }

    /// The first word of a field's value, lower-case (comments and the rest dropped).
    private static func word(_ value: String) -> String {
        String(value.trimmingSpaces().prefix { !$0.isWhitespace && $0 != "(" && $0 != ";" }).lowercased()
    }

    /// The IMAP keyword agents see: `$Important` for high (RFC 8457 section 3),
    /// `$LowImportance` for low; none for normal.
    public var keyword: String? {
        switch self {
        case .high: "$Important"
        case .low: "$LowImportance"
        case .normal: nil
        }
    }
}
