/// The two canonicalization algorithms of RFC 6376 section 3.4, for header and body.
public enum DKIMCanonicalization: String, Sendable, Codable, CaseIterable {
    /// Section 3.4.1 (header) and 3.4.3 (body): almost no change tolerated.
    case simple
    /// Section 3.4.2 (header) and 3.4.4 (body): tolerates whitespace and folding changes.
    case relaxed

    /// The canonical form of one header field, given as its raw bytes (name, colon, value,
    /// folded lines, final CRLF included).
    public func canonicalize(headerField field: [UInt8]) -> [UInt8] {
        switch self {
        case .simple: return field
        case .relaxed: return Self.relaxedHeader(field)
        }
    }

    /// Section 3.4.2: lower-case the name, unfold, compress WSP runs to one SP, drop WSP
    /// at the end of the value and around the colon, end with CRLF.
    static func relaxedHeader(_ field: [UInt8]) -> [UInt8] {
        guard let colon = field.firstIndex(of: UInt8(ascii: ":")) else { return field }
        var output: [UInt8] = []
        output.reserveCapacity(field.count)
        for byte in field[..<colon] where !isWSP(byte) {
            output.append(byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte)
        }
        output.append(UInt8(ascii: ":"))
        var pendingSpace = false
        var started = false
        for byte in field[(colon + 1)...] {
            if byte == 0x0D || byte == 0x0A { continue }
            if isWSP(byte) {
                pendingSpace = started
                continue
            }
            if pendingSpace { output.append(0x20) }
            pendingSpace = false
            started = true
            output.append(byte)
        }
        output += [0x0D, 0x0A]
        return output
    }

    @inline(__always)
    static func isWSP(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
}

/// `c=` of a DKIM-Signature: header and body algorithms (RFC 6376 section 3.5).
public struct DKIMCanonicalizationPair: Sendable, Equatable {
    public var header: DKIMCanonicalization
    public var body: DKIMCanonicalization

    public init(header: DKIMCanonicalization = .relaxed, body: DKIMCanonicalization = .relaxed) {
        self.header = header
        self.body = body
    }

    /// Parses `relaxed/simple`, `simple` (body defaults to simple), etc.
    public init?(tag: String) {
        let parts = tag.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(parts.count), let header = DKIMCanonicalization(rawValue: parts[0].lowercased()) else { return nil }
        let body = parts.count == 2 ? DKIMCanonicalization(rawValue: parts[1].lowercased()) : .simple
        guard let body else { return nil }
        self.init(header: header, body: body)
    }

    public var tag: String { "\(header.rawValue)/\(body.rawValue)" }
}
