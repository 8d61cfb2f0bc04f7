/// One header field of a message as it was received: the raw bytes (folding and final
/// CRLF included), which simple canonicalization needs unchanged, and the lower-cased name.
public struct DKIMHeaderField: Sendable, Equatable {
    public let raw: [UInt8]
    public let name: String

    public init(raw: [UInt8]) {
        self.raw = raw
        let colon = raw.firstIndex(of: UInt8(ascii: ":")) ?? raw.count
        self.name = String(decoding: raw[..<colon], as: UTF8.self)
            .trimming([" ", "\t"]).lowercased()
    }

    /// A field from text; `\r\n` is added if missing.
    public init(_ text: String) {
        var bytes = Array(text.utf8)
        if !bytes.ends(with: [0x0D, 0x0A]) { bytes += [0x0D, 0x0A] }
        self.init(raw: bytes)
    }

    /// The value after the colon, unfolded, as text.
    public var value: String {
        let colon = raw.firstIndex(of: UInt8(ascii: ":")).map { $0 + 1 } ?? raw.count
        let unfolded = raw[colon...].filter { $0 != 0x0D && $0 != 0x0A }
        return String(decoding: unfolded, as: UTF8.self).trimming([" ", "\t"])
    }

    /// Splits a header section (without the empty line that ends it) into fields. A line
    /// starting with space or tab continues the previous field (RFC 5322 section 2.2.3).
    /// A lone LF is taken as a line end; its CRLF form is what is kept.
    public static func split(headerSection bytes: some Collection<UInt8>) -> [DKIMHeaderField] {
        var fields: [DKIMHeaderField] = []
        var current: [UInt8] = []
        var line: [UInt8] = []
        func endLine() {
            if let first = line.first, first == 0x20 || first == 0x09, !current.isEmpty {
                current += line
            } else {
                if !current.isEmpty { fields.append(DKIMHeaderField(raw: current)) }
                current = line
            }
            current += [0x0D, 0x0A]
            line = []
        }
        for byte in bytes {
            if byte == 0x0A {
                if line.last == 0x0D { line.removeLast() }
                endLine()
            } else {
                line.append(byte)
            }
        }
        if !line.isEmpty { endLine() }
        if !current.isEmpty && current != [0x0D, 0x0A] { fields.append(DKIMHeaderField(raw: current)) }
        return fields
    }
}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }
}

extension StringProtocol {
    /// The text without the given characters at either end.
    func trimming(_ set: Set<Character>) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text.removeFirst() }
        while let last = text.last, set.contains(last) { text.removeLast() }
        return String(text)
    }
}
