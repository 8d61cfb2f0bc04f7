/// Decodes the quoted-printable transfer encoding (RFC 2045 section 6.7) and the "Q"
/// encoding of encoded words (RFC 2047 section 4.2).
///
/// Lenient as RFC 2045 section 6.7 (note 1) advises: an `=` not followed by two hex digits
/// or a line break is kept as it is; trailing spaces before a line break are dropped
/// (rule 3); both CRLF and bare LF end lines, and a decoded line break is CRLF.
public enum QuotedPrintableDecoder {
    /// Decodes a quoted-printable body.
    public static func decode(_ input: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        var index = 0
        var pendingSpaces: [UInt8] = []
        while index < input.count {
            let byte = input[index]
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"):
                pendingSpaces.append(byte)
                index += 1
                continue
            case UInt8(ascii: "\r") where index + 1 < input.count && input[index + 1] == UInt8(ascii: "\n"):
                pendingSpaces.removeAll()
                output.append(contentsOf: [0x0D, 0x0A])
                index += 2
                continue
            case UInt8(ascii: "\n"):
                pendingSpaces.removeAll()
                output.append(contentsOf: [0x0D, 0x0A])
                index += 1
                continue
            default:
                break
            }
            output.append(contentsOf: pendingSpaces)
            pendingSpaces.removeAll()
            guard byte == UInt8(ascii: "=") else {
                output.append(byte)
                index += 1
                continue
            }
            index = decodeEscape(input, at: index, into: &output)
        }
        output.append(contentsOf: pendingSpaces)
        return output
    }

    /// Decodes the text of a "Q" encoded word: like quoted-printable, and `_` is a space.
    public static func decodeQ(_ input: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var index = 0
        while index < input.count {
            let byte = input[index]
            if byte == UInt8(ascii: "=") {
                index = decodeEscape(input, at: index, into: &output)
            } else {
                output.append(byte == UInt8(ascii: "_") ? UInt8(ascii: " ") : byte)
                index += 1
            }
        }
        return output
    }

    /// Handles the `=` at `index`: a hex escape, a soft line break, or a literal `=`.
    /// Returns the index after what it consumed.
    private static func decodeEscape(_ input: [UInt8], at index: Int, into output: inout [UInt8]) -> Int {
        var next = index + 1
        // Soft line break: "=" then optional trailing whitespace then CRLF or LF.
        while next < input.count, input[next] == UInt8(ascii: " ") || input[next] == UInt8(ascii: "\t") { next += 1 }
        if next < input.count, input[next] == UInt8(ascii: "\n") { return next + 1 }
        if next + 1 < input.count, input[next] == UInt8(ascii: "\r"), input[next + 1] == UInt8(ascii: "\n") {
            return next + 2
        }
        if next == input.count { return next }  // "=" at the very end: a soft break
        if index + 2 < input.count, let high = hexValue(input[index + 1]), let low = hexValue(input[index + 2]) {
            output.append(high << 4 | low)
            return index + 3
        }
        output.append(UInt8(ascii: "="))
        return index + 1
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}
