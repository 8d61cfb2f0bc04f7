extension MIMEPart {
    /// The body with its Content-Transfer-Encoding undone (RFC 2045 section 6): base64 and
    /// quoted-printable are decoded, 7bit/8bit/binary and unknown encodings returned as they are.
    /// At most `maximumBytes` of the encoded body are read.
    public func decodedBody(from source: some MIMEBodySource, maximumBytes: Int = 16 * 1024 * 1024) throws -> [UInt8] {
        let range = MIMEByteRange(offset: bodyRange.offset, length: min(bodyRange.length, maximumBytes))
        let raw = try source.bytes(in: range)
        switch transferEncoding {
        case "base64": return Base64Decoder.decode(raw)
        case "quoted-printable": return QuotedPrintableDecoder.decode(raw)
        default: return raw
        }
    }

    /// The decoded body as text in the part's charset (RFC 2046 section 4.1.2).
    public func decodedText(from source: some MIMEBodySource, maximumBytes: Int = 16 * 1024 * 1024) throws -> String {
        MIMECharset.decode(try decodedBody(from: source, maximumBytes: maximumBytes), charset: contentType.charset)
    }

    /// The Subject with encoded words decoded (RFC 2047).
    public var subject: String? {
        header["Subject"].map(EncodedWordDecoder.decode)
    }

    /// True for a part a reader sees as message text rather than an attachment.
    public var isInlineText: Bool {
        contentType.type == "text" && disposition?.isAttachment != true
    }
}
