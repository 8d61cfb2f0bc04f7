/// Modified UTF-7, the encoding of mailbox names (RFC 3501 section 5.1.3, RFC 9051 section
/// 5.1.3 for servers without UTF8=ACCEPT): printable ASCII stands for itself except `&`, which
/// is `&-`; other characters are UTF-16BE in base64 (`,` for `/`, no padding) between `&` and `-`.
public enum IMAPModifiedUTF7 {
    /// The name decoded, or nil if it is not valid modified UTF-7.
    public static func decode(_ name: String) -> String? {
        var result = ""
        var bytes = Array(name.utf8)[...]
        while let byte = bytes.popFirst() {
            guard byte == UInt8(ascii: "&") else {
                guard byte >= 0x20 && byte <= 0x7E else { return nil }
                result.unicodeScalars.append(Unicode.Scalar(byte))
                continue
            }
            guard let end = bytes.firstIndex(of: UInt8(ascii: "-")) else { return nil }
            let encoded = bytes[bytes.startIndex..<end]
            bytes = bytes[(end + 1)...]
            if encoded.isEmpty {
                result += "&"
                continue
            }
            guard let units = utf16(fromBase64: encoded) else { return nil }
            var iterator = units.makeIterator()
            var decoder = UTF16()
            decoding: while true {
                switch decoder.decode(&iterator) {
                case .scalarValue(let scalar):
                    // RFC 3501 section 5.1.3: printable ASCII is never base64-encoded.
                    if scalar.value >= 0x20 && scalar.value <= 0x7E { return nil }
                    result.unicodeScalars.append(scalar)
                case .emptyInput:
                    break decoding
                case .error:
                    return nil
                }
            }
        }
        return result
    }

    private static func utf16(fromBase64 encoded: ArraySlice<UInt8>) -> [UInt16]? {
        var bits: UInt32 = 0
        var count = 0
        var octets: [UInt8] = []
        for byte in encoded {
            let value: UInt32
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(byte - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(byte - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(byte - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: ","): value = 63
            default: return nil
            }
            bits = (bits << 6) | value
            count += 6
            if count >= 8 {
                count -= 8
                octets.append(UInt8((bits >> UInt32(count)) & 0xFF))
            }
        }
        // Left-over bits are padding and must be zero.
        guard count < 6, bits & ((1 << UInt32(count)) - 1) == 0, octets.count % 2 == 0, !octets.isEmpty else { return nil }
        return stride(from: 0, to: octets.count, by: 2).map { UInt16(octets[$0]) << 8 | UInt16(octets[$0 + 1]) }
    }
}
