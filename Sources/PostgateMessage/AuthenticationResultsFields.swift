/// Authentication-Results fields (RFC 8601) in a header section as received, found by the
/// authserv-id they name.
///
/// RFC 8601 section 5: an MTA MUST delete (or otherwise obscure) every instance of the field
/// that claims, by its authserv-id, to come from inside its own trust boundary, before it adds
/// its own. Postgate deletes them rather than renaming them: a renamed field keeps a verdict
/// Postgate never reached in the stored message, where an agent, a mail filter matching the
/// field loosely, or a forward of the message could still take it for ours; what was removed
/// is logged with the message's queue id instead.
public enum AuthenticationResultsFields {
    /// The byte ranges, counted from the start of `header`, of every Authentication-Results
    /// field (name compared without case) whose authserv-id is `authservID`: each range holds
    /// the field with its continuation lines and its line end.
    ///
    /// The scan stops at the empty line that ends the header section. When `header` is only
    /// the start of a message (`endsMessage` false), a field whose end is not seen (the data
    /// stops before the next field's first byte) is left alone, so a range never cuts a field.
    public static func ranges(claiming authservID: String, in header: some Collection<UInt8>, endsMessage: Bool = true) -> [Range<Int>] {
        let ours = normalized(Array(authservID.utf8)[...])
        guard !ours.isEmpty else { return [] }
        return fields(in: Array(header), endsMessage: endsMessage).filter { field in
            field.isAuthenticationResults && field.authservID == ours
        }.map(\.range)
    }

    /// `message` without the Authentication-Results fields that claim `authservID`.
    public static func removing(claiming authservID: String, from message: [UInt8]) -> [UInt8] {
        removing(ranges(claiming: authservID, in: message), from: message)
    }

    /// `bytes` without `ranges` (ascending, not overlapping).
    public static func removing(_ ranges: [Range<Int>], from bytes: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var start = 0
        for range in ranges {
            result += bytes[start..<range.lowerBound]
            start = range.upperBound
        }
        return result + bytes[start...]
    }

    /// The authserv-id of an Authentication-Results field's value (RFC 8601 section 2.2):
    /// the first token or quoted-string (RFC 2045 `value`) after optional comments and folding
    /// white space, lower-cased (a host name compares without case) and without a trailing
    /// dot; nil when the value starts with neither. A version (`host 1;`) or anything else
    /// after it does not matter: a malformed field naming us is as misleading as a valid one.
    public static func authservID(ofValue value: some Collection<UInt8>) -> String? {
        let bytes = Array(value)
        var index = skippingCFWS(bytes, from: 0)
        var id: [UInt8] = []
        if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
            index += 1
            while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                if bytes[index] == UInt8(ascii: "\\"), index + 1 < bytes.count { index += 1 }
                if bytes[index] != 0x0D, bytes[index] != 0x0A { id.append(bytes[index]) }
                index += 1
            }
        } else {
            while index < bytes.count, isTokenByte(bytes[index]) {
                id.append(bytes[index])
                index += 1
            }
        }
        let result = normalized(id[...])
        return result.isEmpty ? nil : result
    }

    // MARK: - Scanning

    private struct Field {
        var range: Range<Int>
        var isAuthenticationResults: Bool
        var authservID: String?
    }

    private static let name = Array("authentication-results".utf8)

    /// The complete fields of the header section at the start of `bytes` (RFC 5322 section
    /// 2.2: a line starting with space or tab continues the field before it). Lines end in
    /// LF, with or without CR.
    private static func fields(in bytes: [UInt8], endsMessage: Bool) -> [Field] {
        var fields: [Field] = []
        var current: Range<Int>?
        var index = 0
        var endedByEmptyLine = false
        while index < bytes.count {
            let lineEnd = bytes[index...].firstIndex(of: 0x0A).map { $0 + 1 } ?? bytes.count
            let content = index..<(lineEnd - (lineEnd > index && bytes[lineEnd - 1] == 0x0A ? 1 : 0))
            let trimmed = content.isEmpty || bytes[content.upperBound - 1] != 0x0D ? content : content.lowerBound..<(content.upperBound - 1)
            if trimmed.isEmpty, lineEnd > content.upperBound {
                endedByEmptyLine = true
                break
            }
            let continues = bytes[index] == 0x20 || bytes[index] == 0x09
            if continues, let open = current {
                current = open.lowerBound..<lineEnd
            } else {
                if let open = current { fields.append(field(bytes, open)) }
                current = index..<lineEnd
            }
            index = lineEnd
        }
        // The last field is whole if the header section's end was seen, or the message ends
        // with it and its line end.
        if let open = current, endedByEmptyLine || (endsMessage && open.upperBound == bytes.count) {
            fields.append(field(bytes, open))
        }
        return fields
    }

    private static func field(_ bytes: [UInt8], _ range: Range<Int>) -> Field {
        guard let colon = bytes[range].firstIndex(of: UInt8(ascii: ":")) else {
            return Field(range: range, isAuthenticationResults: false)
        }
        var nameEnd = colon
        while nameEnd > range.lowerBound, bytes[nameEnd - 1] == 0x20 || bytes[nameEnd - 1] == 0x09 { nameEnd -= 1 }
        let fieldName = bytes[range.lowerBound..<nameEnd]
        let matches = fieldName.count == name.count && zip(fieldName, name).allSatisfy { lowered($0) == $1 }
        return Field(range: range, isAuthenticationResults: matches,
                     authservID: matches ? authservID(ofValue: bytes[(colon + 1)..<range.upperBound]) : nil)
    }

    /// The index after the comments and folding white space (RFC 5322 section 3.2.2) that
    /// start at `index`; comments nest and may hold quoted pairs.
    private static func skippingCFWS(_ bytes: [UInt8], from start: Int) -> Int {
        var index = start
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0D, 0x0A:
                index += 1
            case UInt8(ascii: "("):
                var depth = 0
                repeat {
                    switch bytes[index] {
                    case UInt8(ascii: "\\"): index += 1
                    case UInt8(ascii: "("): depth += 1
                    case UInt8(ascii: ")"): depth -= 1
                    default: break
                    }
                    index += 1
                } while depth > 0 && index < bytes.count
            default:
                return index
            }
        }
        return index
    }

    /// RFC 2045 section 5.1 `token`: any byte above space but DEL and the tspecials; bytes
    /// above 127 too (an internationalized authserv-id, RFC 6532).
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte != 0x7F && !tspecials.contains(byte)
    }

    private static let tspecials = Set("()<>@,;:\\\"/[]?=".utf8)

    private static func lowered(_ byte: UInt8) -> UInt8 {
        (0x41...0x5A).contains(byte) ? byte + 0x20 : byte
    }

    private static func normalized(_ id: ArraySlice<UInt8>) -> String {
        var bytes = id.map(lowered)
        while bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }
}
