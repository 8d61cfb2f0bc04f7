/// The Authentication-Results header field (RFC 8601) that records DKIM results on a
/// stored message, with `header.d`, `header.s`, `header.i` and `header.b` (RFC 6008).
public enum DKIMAuthenticationResults {
    /// `Authentication-Results: <authserv-id>; dkim=…` folded one result per line, CRLF at
    /// the end; `dkim=none` when the message carried no signature (section 2.7.1).
    public static func headerField(authservID: String, results: [DKIMVerificationResult]) -> String {
        guard !results.isEmpty else { return "Authentication-Results: \(authservID);\r\n\tdkim=none\r\n" }
        let entries = results.map { result in
            var text = "dkim=\(result.status.rawValue)"
            if let reason = result.reason { text += " reason=\(quoted(reason))" }
            if let domain = result.domain { text += " header.d=\(domain)" }
            if let selector = result.selector { text += " header.s=\(selector)" }
            if let identity = result.identity { text += " header.i=\(quoted(identity))" }
            if let prefix = result.signaturePrefix, !prefix.isEmpty { text += " header.b=\(quoted(prefix))" }
            return text
        }
        return "Authentication-Results: \(authservID);\r\n\t" + entries.joined(separator: ";\r\n\t") + "\r\n"
    }

    /// An RFC 2045 quoted-string of printable ASCII; anything else becomes `?`.
    private static func quoted(_ text: String) -> String {
        let safe = text.unicodeScalars.prefix(200).map { scalar -> String in
            switch scalar.value {
            case 0x22, 0x5C: return "\\" + String(scalar)
            case 0x20...0x7E: return String(scalar)
            default: return "?"
            }
        }
        return "\"" + safe.joined() + "\""
    }
}
