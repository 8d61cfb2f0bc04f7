import PostgateMessage

extension RoutingFacts {
    /// How much of a message filters look at for its body text.
    public static let bodyScanLimit = 1 << 20

    /// The facts filters match, the one place they are computed (SMTP delivery and a release
    /// from quarantine both use it): envelope sender and decoded From (RFC 2047), decoded
    /// Subject, and the text of the message's text part (RFC 2045 transfer encodings,
    /// charsets, HTML stripped). `messageBytes` gives the message's first `bodyScanLimit`
    /// bytes; it is called, and the text extracted, once and only if a body filter asks.
    public init(sender: String, header: MessageHeader, messageBytes: @escaping () -> [UInt8]) {
        var text: String?
        self.init(
            sender: sender + " " + EncodedWordDecoder.decode(header["From"] ?? ""),
            subject: EncodedWordDecoder.decode(header["Subject"] ?? ""),
            body: {
                if let text { return text }
                let bytes = messageBytes()
                let extracted = (try? MIMETextExtractor.text(of: MIMEParser().parse(bytes), from: MIMEBytesSource(bytes))) ?? ""
                text = extracted
                return extracted
            },
            recipients: (["To", "Cc", "Delivered-To", "X-Original-To"].flatMap { header.values($0) }).map(EncodedWordDecoder.decode)
                .joined(separator: ", "),
            importance: MessageImportance(header: header),
            header: { name in header.values(name).map(EncodedWordDecoder.decode) })
    }
}
