/// Turns message bytes into SMTP DATA content (RFC 5321 section 4.5.2 and 2.3.8): every
/// line ends in CRLF (a bare LF or a bare CR becomes CRLF), a line starting with `.` gets
/// one more `.` (dot-stuffing), and `finish` adds the final `CRLF.CRLF`.
///
/// A value type fed chunk by chunk, so a message is streamed in bounded memory; a CR at the
/// end of one chunk and an LF at the start of the next make one line end.
public struct SMTPDataEncoder: Sendable {
    private var atLineStart = true
    private var pendingCR = false

    public init() {}

    /// Appends the encoded form of `chunk` to `output`.
    public mutating func encode(_ chunk: some Sequence<UInt8>, into output: inout [UInt8]) {
        for byte in chunk {
            if pendingCR {
                pendingCR = false
                endLine(&output)
                if byte == UInt8(ascii: "\n") { continue }
            }
            switch byte {
            case UInt8(ascii: "\r"):
                pendingCR = true
            case UInt8(ascii: "\n"):
                endLine(&output)
            default:
                if atLineStart && byte == UInt8(ascii: ".") { output.append(UInt8(ascii: ".")) }
                output.append(byte)
                atLineStart = false
            }
        }
    }

    /// Ends the last line if it was not ended, then appends the terminating `.CRLF`.
    public mutating func finish(into output: inout [UInt8]) {
        if pendingCR || !atLineStart {
            pendingCR = false
            endLine(&output)
        }
        output += Array(".\r\n".utf8)
    }

    private mutating func endLine(_ output: inout [UInt8]) {
        output += [13, 10]
        atLineStart = true
    }
}
