/// The text IMAP SEARCH matches (RFC 9051 section 6.4.4), decoded once from a message
/// file and kept in the index: header fields with their encoded words decoded (RFC 2047),
/// address fields as `name <mailbox@host>` without comments, and the body's text parts
/// with their transfer encoding undone and converted from their charset. Every value is
/// case-folded (`SearchFolding`), so a search is a plain substring test.
public struct MessageSearchText: Sendable, Equatable {
    public var subject: String
    public var from: String
    public var to: String
    public var cc: String
    public var bcc: String
    /// Every header field, one `name: value` a line.
    public var header: String
    /// The text of every text part, and the header of every encapsulated message.
    public var body: String
    /// False when the body was longer than the index keeps: a search must read the file.
    public var complete: Bool

    public init(subject: String, from: String, to: String, cc: String, bcc: String, header: String, body: String, complete: Bool) {
        self.subject = subject
        self.from = from
        self.to = to
        self.cc = cc
        self.bcc = bcc
        self.header = header
        self.body = body
        self.complete = complete
    }

    /// The columns a search key can match.
    public enum Field: String, Sendable, CaseIterable {
        case subject, from = "from_field", to = "to_field", cc, bcc, header, body

        /// The field of the header key called `name` (case-insensitive), if it has one.
        public init?(headerName name: String) {
            switch name.lowercased() {
            case "subject": self = .subject
            case "from": self = .from
            case "to": self = .to
            case "cc": self = .cc
            case "bcc": self = .bcc
            default: return nil
            }
        }
    }
}
