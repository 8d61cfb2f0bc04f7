/// Parses a response (RFC 1035 section 4.1) to the question `DNSMessageEncoder` asked.
///
/// Every read is bounds-checked and compression pointers may only point backwards, so a
/// hostile or broken answer is a `.malformedResponse`, never a crash or a loop.
struct DNSMessageDecoder {
    struct Response {
        var id: UInt16
        var truncated: Bool
        var rcode: Int
        var question: (name: String, type: UInt16)?
        var answers: [(name: String, record: DNSRecord)]
    }

    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    static func decode(_ bytes: [UInt8]) throws(DNSError) -> Response {
        var decoder = DNSMessageDecoder(bytes)
        return try decoder.response()
    }

    private mutating func response() throws(DNSError) -> Response {
        let id = try read16()
        let flags = try read16()
        guard flags & 0x8000 != 0 else { throw .malformedResponse("not a response") }
        let questionCount = Int(try read16())
        let answerCount = Int(try read16())
        offset += 4                                   // NSCOUNT, ARCOUNT: not needed
        var response = Response(id: id, truncated: flags & 0x0200 != 0, rcode: Int(flags & 0x000F), question: nil, answers: [])
        for index in 0..<questionCount {
            let name = try readName()
            let type = try read16()
            _ = try read16()
            if index == 0 { response.question = (name, type) }
        }
        if response.truncated { return response }
        for _ in 0..<answerCount {
            let name = try readName()
            let type = try read16()
            _ = try read16()                          // CLASS
            offset += 4                               // TTL
            let length = Int(try read16())
            guard offset + length <= bytes.count else { throw .malformedResponse("record data past the end") }
            let end = offset + length
            if let record = try record(type: type, end: end) { response.answers.append((name, record)) }
            offset = end
        }
        return response
    }

    private mutating func record(type: UInt16, end: Int) throws(DNSError) -> DNSRecord? {
        switch DNSRecordType(rawValue: type) {
        case .txt:
            var strings: [[UInt8]] = []
            while offset < end {
                let length = Int(bytes[offset])
                guard offset + 1 + length <= end else { throw .malformedResponse("TXT string past the record") }
                strings.append(Array(bytes[(offset + 1)..<(offset + 1 + length)]))
                offset += 1 + length
            }
            return .txt(strings)
        case .a:
            guard end - offset == 4 else { throw .malformedResponse("A record of \(end - offset) bytes") }
            return .a(Array(bytes[offset..<end]))
        case .aaaa:
            guard end - offset == 16 else { throw .malformedResponse("AAAA record of \(end - offset) bytes") }
            return .aaaa(Array(bytes[offset..<end]))
        case .mx:
            let preference = try read16()
            return .mx(preference: preference, exchange: try readName())
        case .cname:
            return .cname(try readName())
        case nil:
            return nil
        }
    }

    private mutating func read16() throws(DNSError) -> UInt16 {
        guard offset + 2 <= bytes.count else { throw .malformedResponse("truncated at byte \(offset)") }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    /// A possibly compressed name (RFC 1035 section 4.1.4), lower-cased, without the root dot.
    private mutating func readName() throws(DNSError) -> String {
        var labels: [String] = []
        var position = offset
        var jumped = false
        var totalLength = 0
        while true {
            guard position < bytes.count else { throw .malformedResponse("name past the end") }
            let length = Int(bytes[position])
            if length & 0xC0 == 0xC0 {
                guard position + 1 < bytes.count else { throw .malformedResponse("pointer past the end") }
                let target = (length & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < position else { throw .malformedResponse("compression pointer does not point back") }
                if !jumped { offset = position + 2 }
                jumped = true
                position = target
                continue
            }
            guard length & 0xC0 == 0 else { throw .malformedResponse("unknown label type") }
            if length == 0 {
                if !jumped { offset = position + 1 }
                return labels.joined(separator: ".").lowercased()
            }
            guard position + 1 + length <= bytes.count else { throw .malformedResponse("label past the end") }
            totalLength += length + 1
            guard totalLength <= 255 else { throw .malformedResponse("name longer than 255 octets") }
            labels.append(String(decoding: bytes[(position + 1)...(position + length)], as: UTF8.self))
            position += 1 + length
        }
    }
}
