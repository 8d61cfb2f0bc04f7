/// A claimed message and its recipients that are due: what a delivery worker sends.
public struct OutboundWork: Sendable, Equatable {
    public struct Recipient: Sendable, Equatable {
        public var id: Int64
        /// The address as written in `RCPT TO` (A-label domain).
        public var address: String
        public var attempts: Int
    }

    public var messageID: Int64
    /// The message file (CRLF or LF lines, not dot-stuffed).
    public var path: String
    /// The envelope sender; empty for `<>`.
    public var sender: String
    public var size: Int
    /// The message has bytes above 127: send `BODY=8BITMIME` (RFC 6152).
    public var eightBit: Bool
    /// The envelope has UTF-8 local parts: send `SMTPUTF8` (RFC 6531).
    public var smtpUTF8: Bool
    public var recipients: [Recipient]
}
