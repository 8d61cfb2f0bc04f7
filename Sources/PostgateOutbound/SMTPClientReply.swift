/// A complete reply from an SMTP server: a three-digit code and its text lines (RFC 5321
/// section 4.2; a multi-line reply has `code-text` lines and ends with `code text`).
public struct SMTPClientReply: Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    /// The text of each line, without the code and the separator.
    public var lines: [String]

    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines
    }

    /// 2xx: the command was accepted.
    public var isPositive: Bool { (200..<300).contains(code) }
    /// 3xx: send more (354 after DATA, 334 during AUTH).
    public var isIntermediate: Bool { (300..<400).contains(code) }
    /// 5xx: a permanent refusal (section 4.2.1).
    public var isPermanent: Bool { (500..<600).contains(code) }

    /// `550 5.1.1 No such user`; the lines of a multi-line reply joined by spaces.
    public var description: String { "\(code) " + lines.joined(separator: " ") }
}
