import Foundation

/// A parsed DKIM-Signature header field (RFC 6376 section 3.5).
public struct DKIMSignatureField: Sendable {
    public let field: DKIMHeaderField
    public let algorithm: DKIMAlgorithm
    public let signature: [UInt8]
    public let bodyHash: [UInt8]
    public let canonicalization: DKIMCanonicalizationPair
    /// `d=`, lower-cased.
    public let domain: String
    public let selector: String
    /// `h=`, lower-cased, in order.
    public let signedHeaders: [String]
    /// `i=`, or `@d` when absent (section 3.5).
    public let identity: String
    public let bodyLength: Int?
    public let timestamp: Date?
    public let expiration: Date?
    /// The first characters of `b=`, for `header.b` (RFC 6008).
    public let signaturePrefix: String

    /// - Throws: `.malformedSignature` naming the tag at fault.
    public init(_ field: DKIMHeaderField) throws(DKIMError) {
        self.field = field
        let tags: DKIMTagList
        do { tags = try DKIMTagList(field.value) } catch { throw .malformedSignature(error.description) }
        func required(_ name: String) throws(DKIMError) -> String {
            guard let value = tags[name], !value.isEmpty else { throw .malformedSignature("no \(name)= tag") }
            return value
        }
        guard try required("v") == "1" else { throw .malformedSignature("v=\(tags["v"] ?? "") is not 1") }
        guard let algorithm = DKIMAlgorithm(rawValue: try required("a").lowercased()) else {
            throw .malformedSignature("a=\(tags["a"] ?? "") is not rsa-sha256 or ed25519-sha256")
        }
        self.algorithm = algorithm
        _ = try required("b")
        _ = try required("bh")
        guard let signature = Data(base64Encoded: tags.base64("b") ?? ""), let bodyHash = Data(base64Encoded: tags.base64("bh") ?? "") else {
            throw .malformedSignature("b= or bh= is not base64")
        }
        self.signature = Array(signature)
        self.bodyHash = Array(bodyHash)
        signaturePrefix = String((tags.base64("b") ?? "").prefix(8))
        guard let canonicalization = DKIMCanonicalizationPair(tag: tags["c"] ?? "simple/simple") else {
            throw .malformedSignature("c=\(tags["c"] ?? "") is not a canonicalization")
        }
        self.canonicalization = canonicalization
        domain = try required("d").lowercased()
        selector = try required("s").lowercased()
        signedHeaders = try required("h").split(separator: ":").map { $0.filter { !$0.isWhitespace }.lowercased() }
        guard signedHeaders.contains("from") else { throw .malformedSignature("h= does not include From") }
        identity = tags["i"] ?? "@" + domain
        guard let at = identity.lastIndex(of: "@"), Self.isSameOrSubdomain(String(identity[identity.index(after: at)...]).lowercased(), of: domain) else {
            throw .malformedSignature("i=\(identity) is not in d=\(domain)")
        }
        if let length = tags["l"] {
            guard let value = Int(length), value >= 0 else { throw .malformedSignature("l=\(length) is not a length") }
            bodyLength = value
        } else {
            bodyLength = nil
        }
        if let query = tags["q"], !query.split(separator: ":").contains(where: { $0.hasPrefix("dns/txt") }) {
            throw .malformedSignature("q=\(query) is not dns/txt")
        }
        timestamp = try Self.time(tags, "t")
        expiration = try Self.time(tags, "x")
        if let timestamp, let expiration, expiration < timestamp {
            throw .malformedSignature("x= is before t=")
        }
    }

    private static func time(_ tags: DKIMTagList, _ name: String) throws(DKIMError) -> Date? {
        guard let text = tags[name] else { return nil }
        guard let seconds = UInt64(text) else { throw .malformedSignature("\(name)=\(text) is not a time") }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    static func isSameOrSubdomain(_ name: String, of domain: String) -> Bool {
        name == domain || name.hasSuffix("." + domain)
    }

    /// The field with the value of `b=` removed, as section 3.7 hashes it.
    var fieldWithoutSignature: [UInt8] {
        Self.removingSignatureValue(field.raw)
    }

    /// Deletes the value of the `b` tag (not `bh`): everything after its `=` up to the next
    /// `;` or the end of the field (the final CRLF is kept).
    static func removingSignatureValue(_ raw: [UInt8]) -> [UInt8] {
        guard let colon = raw.firstIndex(of: UInt8(ascii: ":")) else { return raw }
        var tagStart = colon + 1
        while tagStart < raw.count {
            var index = tagStart
            while index < raw.count, [0x20, 0x09, 0x0D, 0x0A].contains(raw[index]) { index += 1 }
            let nameStart = index
            while index < raw.count, raw[index] != UInt8(ascii: "="), raw[index] != UInt8(ascii: ";") { index += 1 }
            let name = raw[nameStart..<index].filter { ![0x20, 0x09, 0x0D, 0x0A].contains($0) }
            let valueEnd = raw[index...].firstIndex(of: UInt8(ascii: ";")) ?? raw.count
            if name == [UInt8(ascii: "b")], index < raw.count, raw[index] == UInt8(ascii: "=") {
                var end = valueEnd
                if end == raw.count, raw.ends(with: [0x0D, 0x0A]) { end -= 2 }
                return Array(raw[...index]) + Array(raw[end...])
            }
            tagStart = valueEnd + 1
        }
        return raw
    }
}
