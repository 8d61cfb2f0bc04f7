import Testing
@testable import PostgateDNS

/// Query encoding and response decoding (RFC 1035 section 4.1), including compression
/// pointers and the malformed answers a hostile server could send.
struct DNSMessageTests {
    /// A response to `query` with the given RCODE and answer records (type, rdata).
    static func response(to query: [UInt8], rcode: UInt8 = 0, truncated: Bool = false, answers: [(UInt16, [UInt8])] = []) -> [UInt8] {
        var bytes = Array(query[0..<2])
        bytes += [0x81 | (truncated ? 0x02 : 0), 0x80 | rcode]
        bytes += [0, 1, 0, UInt8(answers.count), 0, 0, 0, 0]
        bytes += query[12...]
        for (type, data) in answers {
            bytes += [0xC0, 12]                       // the question's name
            bytes += [UInt8(type >> 8), UInt8(type & 0xFF), 0, 1, 0, 0, 0, 60]
            bytes += [UInt8(data.count >> 8), UInt8(data.count & 0xFF)] + data
        }
        return bytes
    }

    @Test func queryEncoding() throws {
        let query = try DNSMessageEncoder.query(id: 0x1234, name: "s1._domainkey.acme.example.", type: .txt)
        #expect(Array(query[0..<4]) == [0x12, 0x34, 0x01, 0x00])
        #expect(Array(query[12..<16]) == [2, UInt8(ascii: "s"), UInt8(ascii: "1"), 10])
        #expect(Array(query.suffix(4)) == [0, 16, 0, 1])
        #expect(throws: DNSError.self) { try DNSMessageEncoder.query(id: 1, name: "a..b", type: .a) }
        #expect(throws: DNSError.self) { try DNSMessageEncoder.query(id: 1, name: String(repeating: "x", count: 64), type: .a) }
    }

    @Test func txtRecordWithSeveralStrings() throws {
        let query = try DNSMessageEncoder.query(id: 7, name: "k._domainkey.a.example", type: .txt)
        let data: [UInt8] = [3] + Array("v=D".utf8) + [4] + Array("KIM1".utf8)
        let response = try DNSMessageDecoder.decode(Self.response(to: query, answers: [(16, data), (1, [127, 0, 0, 1])]))
        #expect(response.id == 7 && response.rcode == 0 && !response.truncated)
        #expect(response.question?.name == "k._domainkey.a.example")
        #expect(response.answers.map(\.record) == [.txt([Array("v=D".utf8), Array("KIM1".utf8)]), .a([127, 0, 0, 1])])
        #expect(response.answers[0].record.joinedText == "v=DKIM1")
    }

    @Test func mxWithCompressedExchange() throws {
        let query = try DNSMessageEncoder.query(id: 9, name: "a.example", type: .mx)
        // exchange "mx" + pointer to "a.example" at offset 12... label "mx" then pointer to 14 ("example").
        let data: [UInt8] = [0, 10, 2, UInt8(ascii: "m"), UInt8(ascii: "x"), 0xC0, 12]
        let response = try DNSMessageDecoder.decode(Self.response(to: query, answers: [(15, data)]))
        #expect(response.answers.map(\.record) == [.mx(preference: 10, exchange: "mx.a.example")])
    }

    @Test func malformedAnswersAreErrorsNotCrashes() throws {
        let query = try DNSMessageEncoder.query(id: 9, name: "a.example", type: .txt)
        let good = Self.response(to: query, answers: [(16, [5] + Array("hello".utf8))])
        for cut in 0..<good.count {
            #expect(throws: DNSError.self) { try DNSMessageDecoder.decode(Array(good[0..<cut])) }
        }
        // A TXT string longer than its record, and a pointer loop.
        #expect(throws: DNSError.self) { try DNSMessageDecoder.decode(Self.response(to: query, answers: [(16, [9, 1, 2])])) }
        var loop = Self.response(to: query)
        loop.replaceSubrange(12..<(loop.count - 4), with: [0xC0, 12])
        #expect(throws: DNSError.self) { try DNSMessageDecoder.decode(loop) }
    }

    @Test func serverAddresses() throws {
        #expect(try DNSServerAddress("127.0.0.1:5353") == DNSServerAddress(host: "127.0.0.1", port: 5353))
        #expect(try DNSServerAddress("127.0.0.1") == DNSServerAddress(host: "127.0.0.1", port: 53))
        #expect(try DNSServerAddress("[::1]:5300") == DNSServerAddress(host: "::1", port: 5300))
        #expect(try DNSServerAddress("::1") == DNSServerAddress(host: "::1", port: 53))
        #expect(throws: DNSError.self) { try DNSServerAddress("dns.example:53") }
        #expect(throws: DNSError.self) { try DNSServerAddress("127.0.0.1:99999") }
    }

    @Test func resolvConf() throws {
        let path = "/tmp/postgate-resolv-\(UInt32.random(in: 0...UInt32.max)).conf"
        try "# comment\nnameserver 10.0.0.1\nsearch x\nnameserver fe80::1%eth0\nnameserver bogus\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(DNSResolver.systemServers(path: path) == [DNSServerAddress(host: "10.0.0.1"), DNSServerAddress(host: "fe80::1")])
    }
}
