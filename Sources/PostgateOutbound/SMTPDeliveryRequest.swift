/// One message to send in one SMTP transaction: the envelope and where the content is.
public struct SMTPDeliveryRequest: Sendable, Equatable {
    /// The reverse-path; empty for the null sender `<>` (delivery status notifications).
    public var sender: String
    /// The forward-paths, each sent in its own RCPT TO.
    public var recipients: [String]
    /// The message file, streamed in bounded chunks.
    public var path: String
    /// Its size in bytes, declared with `SIZE=` when the server supports RFC 1870.
    public var size: Int
    /// Declare `BODY=8BITMIME` (RFC 6152) when the server supports it.
    public var eightBit: Bool
    /// The envelope needs `SMTPUTF8` (RFC 6531); a server without it refuses the message.
    public var smtpUTF8: Bool

    public init(sender: String, recipients: [String], path: String, size: Int, eightBit: Bool = false, smtpUTF8: Bool = false) {
        self.sender = sender
        self.recipients = recipients
        self.path = path
        self.size = size
        self.eightBit = eightBit
        self.smtpUTF8 = smtpUTF8
    }
}
