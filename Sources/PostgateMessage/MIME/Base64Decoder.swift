/// Decodes base64 (RFC 2045 section 6.8) as mail clients write it: line breaks anywhere,
/// characters outside the alphabet ignored (as section 6.8 requires), decoding stops at
/// the first `=` pad, and a final incomplete group yields the whole bytes it holds.
public enum Base64Decoder {
    private static let table: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        for (value, character) in alphabet.enumerated() { table[Int(character)] = UInt8(value) }
        // The URL-safe alphabet (RFC 4648 section 5) shows up in some generated mail.
        table[Int(UInt8(ascii: "-"))] = 62
        table[Int(UInt8(ascii: "_"))] = 63
        return table
    }()

    public static func decode(_ input: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(input.count * 3 / 4)
        var accumulator: UInt32 = 0
        var count = 0
        for byte in input {
            if byte == UInt8(ascii: "=") { break }
            let value = table[Int(byte)]
            if value == 0xFF { continue }
            accumulator = accumulator << 6 | UInt32(value)
            count += 1
            if count == 4 {
                output.append(UInt8(truncatingIfNeeded: accumulator >> 16))
                output.append(UInt8(truncatingIfNeeded: accumulator >> 8))
                output.append(UInt8(truncatingIfNeeded: accumulator))
                accumulator = 0
                count = 0
            }
        }
        if count == 3 {
            output.append(UInt8(truncatingIfNeeded: accumulator >> 10))
            output.append(UInt8(truncatingIfNeeded: accumulator >> 2))
        } else if count == 2 {
            output.append(UInt8(truncatingIfNeeded: accumulator >> 4))
        }
        return output
    }
}
