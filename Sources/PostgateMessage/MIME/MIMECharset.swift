import Foundation

/// Maps MIME charset names (RFC 2045 section 2.2, IANA names) to Foundation encodings and
/// decodes text with them, never failing: unknown charsets and invalid bytes fall back to
/// UTF-8 when the bytes are valid UTF-8, else to Windows-1252 (a superset of ISO-8859-1),
/// which is what mislabelled mail in the wild almost always is.
public enum MIMECharset {
    /// CoreFoundation encoding numbers that Foundation accepts as `0x8000_0000 | n`; used for
    /// the ISO-8859 and Windows code pages `String.Encoding(ianaName:)` does not know.
    private static let coreFoundationEncodings: [String: UInt] = [
        "iso-8859-3": 0x203, "iso-8859-4": 0x204, "iso-8859-5": 0x205, "iso-8859-6": 0x206,
        "iso-8859-7": 0x207, "iso-8859-8": 0x208, "iso-8859-8-i": 0x208, "iso-8859-9": 0x209,
        "iso-8859-10": 0x20A, "iso-8859-11": 0x20B, "iso-8859-13": 0x20D, "iso-8859-14": 0x20E,
        "iso-8859-15": 0x20F, "iso-8859-16": 0x210,
        "windows-1250": 0x501, "windows-1251": 0x502, "windows-1252": 0x500, "windows-1253": 0x503,
        "windows-1254": 0x504, "windows-1255": 0x505, "windows-1256": 0x506, "windows-1257": 0x507,
        "windows-1258": 0x508, "koi8-r": 0xA02, "koi8-u": 0xA08, "big5": 0xA03, "gb2312": 0x930,
        "gbk": 0x631, "gb18030": 0x632, "euc-kr": 0x940, "euc-jp": 0x920,
    ]

    /// Other spellings seen in mail headers.
    private static let aliases: [String: String] = [
        "utf8": "utf-8", "latin1": "iso-8859-1", "latin-1": "iso-8859-1", "iso8859-1": "iso-8859-1",
        "iso_8859-1": "iso-8859-1", "ascii": "us-ascii", "cp1252": "windows-1252", "cp1251": "windows-1251",
        "cp1250": "windows-1250", "x-gbk": "gbk", "ks_c_5601-1987": "euc-kr", "ansi_x3.4-1968": "us-ascii",
    ]

    /// The Foundation encoding for a charset name, or nil when it is unknown.
    public static func encoding(named name: String) -> String.Encoding? {
        var key = name.trimmingSpaces().lowercased()
        if key.hasPrefix("\""), key.hasSuffix("\""), key.count >= 2 { key = String(key.dropFirst().dropLast()) }
        key = aliases[key] ?? key
        if key.hasPrefix("iso8859-") { key = "iso-8859-" + key.dropFirst(8) }
        switch key {
        case "utf-8": return .utf8
        case "us-ascii": return .utf8  // ASCII is a subset; 8-bit bytes mislabelled as ASCII are common
        case "iso-8859-1": return .isoLatin1
        case "iso-8859-2": return .isoLatin2
        default: break
        }
        if let number = coreFoundationEncodings[key] { return String.Encoding(rawValue: 0x8000_0000 | number) }
        return String.Encoding(ianaName: key)
    }

    /// Whether every byte is below 0x80, eight at a time: a body's text is checked whole
    /// on every delivery.
    static func isASCII(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var index = 0
            var high: UInt64 = 0
            while index + 8 <= raw.count {
                high |= raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                index += 8
            }
            while index < raw.count {
                high |= UInt64(raw[index])
                index += 1
            }
            return high & 0x8080_8080_8080_8080 == 0
        }
    }

    /// Decodes `bytes` in `charset` (nil: UTF-8), with the fallbacks described above.
    public static func decode(_ bytes: [UInt8], charset: String?) -> String {
        if isASCII(bytes) { return String(decoding: bytes, as: UTF8.self) }
        if let charset, let encoding = encoding(named: charset),
           let text = String(data: Data(bytes), encoding: encoding) {
            return text
        }
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        return String(data: Data(bytes), encoding: .windowsCP1252) ?? String(decoding: bytes, as: UTF8.self)
    }
}
