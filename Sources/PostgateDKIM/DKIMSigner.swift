import Foundation

/// Signs messages for one domain and selector (RFC 6376 section 5; RFC 8463).
///
/// Relaxed/relaxed by default, the usual header set (those present are signed, bottom-up
/// instances as section 5.4.2 says), From signed once more than it occurs so that no From
/// can be added (oversigning, section 8.15), no `l=`. The body hash is computed from
/// chunks, so the outbound path can sign a spooled 20 MB message without loading it.
public struct DKIMSigner: Sendable {
    /// The header fields signed when present (RFC 6376 section 5.4.1's recommendations).
    public static let defaultSignedHeaders = [
        "from", "sender", "reply-to", "subject", "date", "message-id", "to", "cc",
        "mime-version", "content-type", "content-transfer-encoding", "content-id",
        "content-description", "in-reply-to", "references", "resent-date", "resent-from",
        "resent-sender", "resent-to", "resent-cc", "resent-message-id", "list-id",
        "list-help", "list-unsubscribe", "list-subscribe", "list-post", "list-owner", "list-archive",
    ]

    /// `d=`: the signing domain, A-label form.
    public let domain: String
    public let selector: String
    public let key: DKIMPrivateKey
    public var canonicalization = DKIMCanonicalizationPair()
    public var signedHeaders = DKIMSigner.defaultSignedHeaders
    /// Fields signed once more than they occur.
    public var oversignedHeaders = ["from"]

    public init(domain: String, selector: String, key: DKIMPrivateKey) {
        self.domain = domain.lowercased()
        self.selector = selector.lowercased()
        self.key = key
    }

    /// A body hasher for this signer's body canonicalization; feed it the body, then call
    /// `sign(headerFields:bodyHash:)`.
    public func makeBodyHasher() -> DKIMBodyHasher {
        DKIMBodyHasher(canonicalization: canonicalization.body)
    }

    /// The DKIM-Signature header field (folded, ending in CRLF) to put above `headerFields`.
    public func sign(headerFields: [DKIMHeaderField], bodyHash: [UInt8], time: Date = Date()) throws(DKIMError) -> String {
        let names = signedNames(for: headerFields)
        var text = "DKIM-Signature: v=1; a=\(key.algorithm.rawValue); c=\(canonicalization.tag);\r\n"
        text += "\td=\(domain); s=\(selector); t=\(Int(time.timeIntervalSince1970));\r\n"
        text += "\th=\(names.joined(separator: ":"));\r\n"
        text += "\tbh=\(Data(bodyHash).base64EncodedString());\r\n"
        text += "\tb="
        let unsigned = Array(text.utf8) + [0x0D, 0x0A]
        let digest = DKIMHeaderHasher.digest(fields: headerFields, signedNames: names, signatureField: unsigned, canonicalization: canonicalization.header)
        let signature = try key.sign(digest)
        return text + Self.fold(Data(signature).base64EncodedString()) + "\r\n"
    }

    /// Signs a message given as header lines (one field per element, folded lines allowed)
    /// and body chunks.
    public func sign<Chunks: Sequence>(headerLines: [String], bodyChunks: Chunks, time: Date = Date()) throws(DKIMError) -> String where Chunks.Element: Collection<UInt8> {
        var hasher = makeBodyHasher()
        for chunk in bodyChunks { hasher.update(chunk) }
        return try sign(headerFields: headerLines.map(DKIMHeaderField.init), bodyHash: hasher.finalize(), time: time)
    }

    /// Signs a whole message read in chunks (header section, empty line, body).
    public func sign<Chunks: Sequence>(messageChunks: Chunks, time: Date = Date()) throws(DKIMError) -> String where Chunks.Element: Collection<UInt8> {
        var splitter = DKIMMessageSplitter(maxHeaderBytes: 1 << 20)
        var hasher = makeBodyHasher()
        for chunk in messageChunks {
            Array(chunk).withUnsafeBytes { bytes in splitter.feed(bytes) { hasher.update($0) } }
        }
        guard !splitter.headerTooLarge else { throw .malformedSignature("the header section is larger than 1 MiB") }
        return try sign(headerFields: DKIMHeaderField.split(headerSection: splitter.header), bodyHash: hasher.finalize(), time: time)
    }

    /// Signs the message in the file at `path`, reading it in 64 KiB chunks.
    public func sign(messageFile path: String, time: Date = Date()) throws(DKIMError) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .io("cannot read \(path)") }
        defer { try? handle.close() }
        let chunks = AnyIterator { () -> Data? in
            let data = handle.readData(ofLength: 64 * 1024)
            return data.isEmpty ? nil : data
        }
        return try sign(messageChunks: AnySequence(chunks), time: time)
    }

    private func signedNames(for fields: [DKIMHeaderField]) -> [String] {
        var names: [String] = []
        for name in signedHeaders {
            let count = fields.filter { $0.name == name }.count
            let extra = oversignedHeaders.contains(name) ? 1 : 0
            names += Array(repeating: name, count: count + extra)
        }
        return names
    }

    /// Folds a base64 value into lines of 72 characters (FWS inside the value is allowed).
    private static func fold(_ value: String) -> String {
        var lines: [Substring] = []
        var rest = Substring(value)
        while !rest.isEmpty {
            lines.append(rest.prefix(72))
            rest = rest.dropFirst(72)
        }
        return lines.joined(separator: "\r\n\t ")
    }
}
