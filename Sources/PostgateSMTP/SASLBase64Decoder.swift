/// Decodes the base64 of SASL responses strictly (RFC 4648 section 4, as RFC 4954 section 4
/// requires): the plain alphabet only, no line breaks or spaces, a length that is a multiple
/// of four, and `=` padding only at the end. Anything else is not a response the server
/// can read, and the AUTH command fails with 501 rather than guessing (unlike the lenient
/// MIME decoder, which must read whatever mail clients wrote).
public enum SASLBase64Decoder {
    private static let table: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, character) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(character)] = UInt8(value)
        }
        return table
    }()

    /// The decoded bytes, or nil when `text` is not strict base64. The empty text is the
    /// empty response.
    public static func decode(_ text: [UInt8]) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        let padding = text.reversed().prefix { $0 == UInt8(ascii: "=") }.count
        guard padding <= 2 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(text.count / 4 * 3)
        var accumulator: UInt32 = 0
        for (index, byte) in text.dropLast(padding).enumerated() {
            let value = table[Int(byte)]
            guard value != 0xFF else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            if index % 4 == 3 {
                output += [UInt8(truncatingIfNeeded: accumulator >> 16), UInt8(truncatingIfNeeded: accumulator >> 8),
                           UInt8(truncatingIfNeeded: accumulator)]
                accumulator = 0
            }
        }
        switch padding {
        case 1: output += [UInt8(truncatingIfNeeded: accumulator >> 10), UInt8(truncatingIfNeeded: accumulator >> 2)]
        case 2: output.append(UInt8(truncatingIfNeeded: accumulator >> 4))
        default: break
        }
        return output
    }
}
