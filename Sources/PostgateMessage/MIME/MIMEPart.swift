/// One node of a message's MIME tree (RFC 2045, RFC 2046): its header fields, the parsed
/// Content-* fields, where its header and body sit in the original bytes, and its children.
///
/// The root is the message itself. A multipart's `parts` are its body parts in order; a
/// message/rfc822 (or message/global) part has exactly one child, the encapsulated message,
/// whose own header and body ranges lie inside this part's body. This is the shape IMAP
/// BODYSTRUCTURE and BODY[section] (RFC 3501 sections 6.4.5 and 7.4.2) need.
public struct MIMEPart: Sendable, Equatable {
    /// The part's header fields (only the header's first `MIMELimits.maximumHeaderBytes`).
    public var header: MessageHeader
    public var contentType: MIMEContentType
    /// Lowercased Content-Transfer-Encoding; "7bit" when absent (RFC 2045 section 6.1).
    public var transferEncoding: String
    public var disposition: MIMEContentDisposition?
    public var contentID: String?
    public var contentDescription: String?
    /// Content-Language tags (RFC 3282), in order.
    public var contentLanguage: [String]
    public var contentLocation: String?
    public var contentMD5: String?
    /// The header section including the empty line that ends it.
    public var headerRange: MIMEByteRange
    /// The body, excluding the line break before the next boundary (RFC 2046 section 5.1.1).
    public var bodyRange: MIMEByteRange
    /// Lines in the body (IMAP's body-fld-lines for text/* and message/rfc822).
    public var bodyLineCount: Int
    public var parts: [MIMEPart]
    /// What was wrong with this part; the parser recovered from each.
    public var defects: Set<MIMEDefect>

    public init(header: MessageHeader, headerRange: MIMEByteRange, defaultType: MIMEContentType = .textPlain) {
        self.header = header
        let type = MIMEContentType.parse(header["Content-Type"], default: defaultType)
        contentType = type
        let encoding = header["Content-Transfer-Encoding"].map { MIMEParameterParser.parse($0).value } ?? ""
        transferEncoding = encoding.isEmpty ? "7bit" : encoding
        disposition = MIMEContentDisposition.parse(header["Content-Disposition"])
        contentID = header["Content-ID"]
        contentDescription = header["Content-Description"].map(EncodedWordDecoder.decode)
        contentLanguage = (header["Content-Language"] ?? "")
            .split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
        contentLocation = header["Content-Location"]
        contentMD5 = header["Content-MD5"]
        self.headerRange = headerRange
        bodyRange = MIMEByteRange(offset: headerRange.end, length: 0)
        bodyLineCount = 0
        parts = []
        defects = []
        if type.isMultipart, type.boundary == nil { defects.insert(.missingBoundaryParameter) }
    }

    /// Every part in depth-first order, this one first.
    public var allParts: [MIMEPart] {
        [self] + parts.flatMap(\.allParts)
    }

    /// True when this part or a part below it has a defect.
    public var hasDefects: Bool {
        !defects.isEmpty || parts.contains { $0.hasDefects }
    }
}
