import PostgateMessage

extension RoutingFacts {
    /// The facts filters match, read from a whole message held in memory (at most the
    /// first bytes a filter scans): envelope sender and decoded From (RFC 2047), decoded
    /// Subject, and the text of the message's text part (RFC 2045), extracted on first use.
    public init(sender: String, header: MessageHeader, messageBytes: [UInt8]) {
        self.init(
            sender: sender + " " + EncodedWordDecoder.decode(header["From"] ?? ""),
            subject: EncodedWordDecoder.decode(header["Subject"] ?? ""),
            body: {
                let root = MIMEParser().parse(messageBytes)
                return (try? MIMETextExtractor.text(of: root, from: MIMEBytesSource(messageBytes))) ?? ""
            })
    }
}
