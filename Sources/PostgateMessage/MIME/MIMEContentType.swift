/// A Content-Type (RFC 2045 section 5): type, subtype and parameters.
///
/// A missing or unparsable field means `text/plain; charset=us-ascii` (section 5.2), except
/// inside multipart/digest, where the default is message/rfc822 (RFC 2046 section 5.1.5).
public struct MIMEContentType: Sendable, Equatable, Hashable {
    /// Lowercased media type, e.g. "text".
    public var type: String
    /// Lowercased subtype, e.g. "plain".
    public var subtype: String
    /// Parameters by lowercased name, continuations joined and decoded (RFC 2231).
    public var parameters: [String: String]

    public init(type: String, subtype: String, parameters: [String: String] = [:]) {
        self.type = type
        self.subtype = subtype
        self.parameters = parameters
    }

    public static let textPlain = MIMEContentType(type: "text", subtype: "plain", parameters: ["charset": "us-ascii"])
    public static let messageRFC822 = MIMEContentType(type: "message", subtype: "rfc822")

    /// Parses a Content-Type field value; nil or malformed gives `defaultType`.
    public static func parse(_ field: String?, default defaultType: MIMEContentType = .textPlain) -> MIMEContentType {
        guard let field else { return defaultType }
        let (value, parameters) = MIMEParameterParser.parse(field)
        let pieces = value.split(separator: "/", maxSplits: 1).map { String($0).trimmingSpaces() }
        guard pieces.count == 2, !pieces[0].isEmpty, !pieces[1].isEmpty else { return defaultType }
        return MIMEContentType(type: pieces[0], subtype: pieces[1], parameters: parameters)
    }

    /// "type/subtype".
    public var mimeType: String { "\(type)/\(subtype)" }
    public var isMultipart: Bool { type == "multipart" }
    /// message/rfc822 and message/global (RFC 6532) encapsulate a whole message.
    public var isEncapsulatedMessage: Bool { type == "message" && (subtype == "rfc822" || subtype == "global") }
    public var charset: String? { parameters["charset"] }
    /// The multipart boundary, if present and not empty.
    public var boundary: String? { parameters["boundary"].flatMap { $0.isEmpty ? nil : $0 } }
}
