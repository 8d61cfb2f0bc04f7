/// The grammar of `Mailbox` in RFC 5321 section 4.1.2:
///
///     Mailbox        = Local-part "@" ( Domain / address-literal )
///     Local-part     = Dot-string / Quoted-string
///     Dot-string     = Atom *("."  Atom)
///     Quoted-string  = DQUOTE *QcontentSMTP DQUOTE
///
/// extended by RFC 6531 section 3.3 so that atoms and quoted strings may hold UTF-8.
public enum MailboxSyntax {
    /// A mailbox split into its unquoted local part and its domain text (not yet validated).
    public struct Parts: Equatable, Sendable {
        public var localPart: String
        public var wasQuoted: Bool
        public var domain: String
    }

    /// Splits `bytes` into local part and domain, checking the local part's syntax.
    public static func parse(_ bytes: [UInt8]) throws(EmailAddressError) -> Parts {
        guard !bytes.isEmpty else { throw .missingAt }
        var index = 0
        let local: [UInt8]
        let quoted = bytes[0] == UInt8(ascii: "\"")
        if quoted {
            local = try parseQuoted(bytes, index: &index)
        } else {
            local = try parseDotString(bytes, index: &index)
        }
        guard index < bytes.count, bytes[index] == UInt8(ascii: "@") else { throw .missingAt }
        guard !local.isEmpty else { throw .emptyLocalPart }
        guard local.count <= 64 else { throw .localPartTooLong }
        let domainBytes = bytes[(index + 1)...]
        guard let localText = String(validating: local, as: UTF8.self),
              let domainText = String(validating: domainBytes, as: UTF8.self) else { throw .invalidLocalPart }
        if DomainName.isAddressLiteral(domainText) { throw .addressLiteral }
        return Parts(localPart: localText, wasQuoted: quoted, domain: domainText)
    }

    /// Quotes a local part if it is not a valid Dot-string (RFC 5321 section 4.1.2: a
    /// sender should not quote what needs no quoting).
    public static func quoteIfNeeded(_ localPart: String) -> String {
        let bytes = Array(localPart.utf8)
        var index = 0
        if let parsed = try? parseDotString(bytes + [UInt8(ascii: "@")], index: &index), parsed.count == bytes.count {
            return localPart
        }
        var out = "\""
        for ch in localPart {
            if ch == "\"" || ch == "\\" { out.append("\\") }
            out.append(ch)
        }
        return out + "\""
    }

    /// RFC 5322 `atext`, plus any non-ASCII byte (RFC 6531 `UTF8-non-ascii`).
    static func isAtext(_ b: UInt8) -> Bool {
        if b >= 0x80 { return true }
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-/=?^_`{|}~".utf8).contains(b)
        }
    }

    private static func parseDotString(_ bytes: [UInt8], index: inout Int) throws(EmailAddressError) -> [UInt8] {
        var out: [UInt8] = []
        var lastWasDot = true  // a leading dot is as bad as a doubled one
        while index < bytes.count, bytes[index] != UInt8(ascii: "@") {
            let b = bytes[index]
            if b == UInt8(ascii: ".") {
                if lastWasDot { throw .invalidLocalPart }
                lastWasDot = true
            } else if isAtext(b) {
                lastWasDot = false
            } else {
                throw .invalidLocalPart
            }
            out.append(b)
            index += 1
        }
        if lastWasDot && !out.isEmpty { throw .invalidLocalPart }
        return out
    }

    private static func parseQuoted(_ bytes: [UInt8], index: inout Int) throws(EmailAddressError) -> [UInt8] {
        var out: [UInt8] = []
        index = 1
        while index < bytes.count {
            let b = bytes[index]
            index += 1
            switch b {
            case UInt8(ascii: "\""):
                return out
            case UInt8(ascii: "\\"):
                // quoted-pairSMTP = %d92 %d32-126
                guard index < bytes.count, bytes[index] >= 32, bytes[index] <= 126 else { throw .invalidLocalPart }
                out.append(bytes[index])
                index += 1
            case 32...126, 0x80...0xFF:
                out.append(b)
            default:
                throw .invalidLocalPart
            }
        }
        throw .unterminatedQuote
    }
}
