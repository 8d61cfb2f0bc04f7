/// Extracts the addresses of an address-list header field (From, To, Cc; RFC 5322
/// section 3.4): display names, quoted strings, comments and groups are skipped, and each
/// address is returned in canonical form (`EmailAddress.canonical`). Unparsable entries are
/// left out. At most `maximumAddresses` are returned.
public enum AddressListParser {
    public static let maximumAddresses = 200

    public static func addresses(_ value: String) -> [String] {
        addresses([value])
    }

    public static func addresses(_ values: [String]) -> [String] {
        var result: [String] = []
        for value in values {
            for entry in entries(value) where result.count < maximumAddresses {
                if let address = try? EmailAddress(entry), !result.contains(address.canonical) {
                    result.append(address.canonical)
                }
            }
        }
        return result
    }

    /// The addr-spec text of each mailbox: the part in `<…>` when there is one, else the
    /// entry without comments; split at commas (and group `:`/`;`) outside quotes.
    private static func entries(_ value: String) -> [String] {
        var entries: [String] = []
        var current = ""
        var angle: String?
        var inAngle = false
        var quoted = false
        var commentDepth = 0
        var escaped = false
        func flush() {
            let entry = (angle ?? current).trimmingSpaces()
            if !entry.isEmpty { entries.append(entry) }
            current = ""
            angle = nil
        }
        for character in value {
            if escaped { escaped = false; if !inAngle && commentDepth == 0 { current.append(character) }; continue }
            if character == "\\" { escaped = true; continue }
            if quoted { if character == "\"" { quoted = false }; continue }
            if commentDepth > 0 {
                if character == "(" { commentDepth += 1 } else if character == ")" { commentDepth -= 1 }
                continue
            }
            switch character {
            case "\"" where !inAngle: quoted = true; current = ""
            case "(": commentDepth = 1
            case "<": inAngle = true; angle = ""
            case ">": inAngle = false
            case "," where !inAngle, ";" where !inAngle: flush()
            case ":" where !inAngle: current = ""  // a group name
            default:
                if inAngle { angle?.append(character) } else { current.append(character) }
            }
        }
        flush()
        return entries
    }
}
