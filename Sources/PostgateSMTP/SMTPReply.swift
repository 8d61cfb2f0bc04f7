import NIOCore

/// One SMTP reply: a three-digit code, an enhanced status code (RFC 3463, advertised with
/// ENHANCEDSTATUSCODES, RFC 2034) and one or more lines of text.
///
/// Replies are written as RFC 5321 section 4.2 says: every line but the last as
/// `code-text`, the last as `code text`, each ending in CRLF.
public struct SMTPReply: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: Int
    /// `x.y.z`, or nil for replies that carry none (the greeting, EHLO, the 354 prompt).
    public var enhancedCode: String?
    public var lines: [String]

    public init(_ code: Int, _ enhancedCode: String?, _ lines: [String]) {
        precondition((200...599).contains(code), "SMTP reply codes are 2xx to 5xx")
        self.code = code
        self.enhancedCode = enhancedCode
        self.lines = lines.isEmpty ? [""] : lines
    }

    public init(_ code: Int, _ enhancedCode: String?, _ text: String) {
        self.init(code, enhancedCode, [text])
    }

    /// 4xx: the client may try again later.
    public var isTransient: Bool { (400..<500).contains(code) }
    /// 5xx: the command failed for good.
    public var isPermanent: Bool { code >= 500 }
    public var isPositive: Bool { code < 400 }

    public var description: String { "\(code) \(enhancedCode.map { "\($0) " } ?? "")\(lines.joined(separator: " / "))" }

    /// Appends the wire form to `buffer`.
    public func write(to buffer: inout ByteBuffer) {
        for (index, line) in lines.enumerated() {
            buffer.writeString(String(code))
            buffer.writeInteger(index == lines.count - 1 ? UInt8(ascii: " ") : UInt8(ascii: "-"))
            if let enhancedCode {
                buffer.writeString(enhancedCode)
                if !line.isEmpty { buffer.writeInteger(UInt8(ascii: " ")) }
            }
            buffer.writeString(Self.sanitized(line))
            buffer.writeStaticString("\r\n")
        }
    }

    /// Reply text never carries CR or LF of its own: text taken from a client (an address
    /// in an error message) must not be able to forge a further reply line.
    private static func sanitized(_ line: String) -> String {
        guard line.utf8.contains(where: { $0 == 13 || $0 == 10 }) else { return line }
        return String(line.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 })
    }
}
