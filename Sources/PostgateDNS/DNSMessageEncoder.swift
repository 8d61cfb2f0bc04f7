/// Builds a standard query (RFC 1035 section 4.1): one question, recursion desired.
enum DNSMessageEncoder {
    /// - Throws: `.invalidName` for an empty label, a label over 63 octets or a name over 255.
    static func query(id: UInt16, name: String, type: DNSRecordType) throws(DNSError) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(17 + name.utf8.count)
        append16(id, to: &bytes)
        append16(0x0100, to: &bytes)          // QR=0, OPCODE=0, RD=1
        append16(1, to: &bytes)               // QDCOUNT
        append16(0, to: &bytes)               // ANCOUNT
        append16(0, to: &bytes)               // NSCOUNT
        append16(0, to: &bytes)               // ARCOUNT
        bytes += try encodeName(name)
        append16(type.rawValue, to: &bytes)
        append16(1, to: &bytes)               // QCLASS IN
        return bytes
    }

    static func encodeName(_ name: String) throws(DNSError) -> [UInt8] {
        let trimmed = name.hasSuffix(".") ? String(name.dropLast()) : name
        var bytes: [UInt8] = []
        if !trimmed.isEmpty {
            for label in trimmed.split(separator: ".", omittingEmptySubsequences: false) {
                let utf8 = Array(label.utf8)
                guard !utf8.isEmpty, utf8.count <= 63 else { throw .invalidName(name) }
                bytes.append(UInt8(utf8.count))
                bytes += utf8
            }
        }
        bytes.append(0)
        guard bytes.count <= 255 else { throw .invalidName(name) }
        return bytes
    }

    private static func append16(_ value: UInt16, to bytes: inout [UInt8]) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }
}
