import Crypto
import Foundation

/// The Message-IDs Postgate puts on its replies, and the hidden body marker that carries
/// the same token, from which the session is recovered when a customer answers.
///
/// Token: `pg1-<session id, base 36>-<nonce, 8 hex>-<HMAC-SHA256, first 10 bytes, hex>`,
/// the MAC over `pg1-<id>-<nonce>` with the data directory's session key. A guessed or
/// altered token fails the MAC and is ignored, so nobody can push mail into another
/// customer's session by inventing a Message-ID. The Message-ID is `<token@hosted-domain>`
/// (RFC 5322 section 3.6.4); the marker is `[ref:token]`, placed in reply bodies for relays
/// (Office 365, Gmail) that replace Message-IDs. Parsing is case-insensitive because some
/// relays fold case.
public struct SessionMessageID: Sendable {
    public static let prefix = "pg1-"
    private static let macBytes = 10
    private let key: SymmetricKey

    /// `key`: at least 32 random bytes, kept secret in the data directory.
    public init(key: [UInt8]) {
        self.key = SymmetricKey(data: key)
    }

    /// A new token for `sessionID` (a fresh nonce each time, so every reply's id is unique).
    public func token(sessionID: Int64) -> String {
        let nonce = String(format: "%08x", UInt32.random(in: .min ... .max))
        let body = "\(Self.prefix)\(String(sessionID, radix: 36))-\(nonce)"
        return body + "-" + mac(body)
    }

    /// `<token@domain>` for the Message-ID field of a reply in `sessionID`.
    public func messageID(sessionID: Int64, domain: String) -> String {
        "<\(token(sessionID: sessionID))@\(domain)>"
    }

    /// The hidden marker for a reply body.
    public func bodyMarker(sessionID: Int64) -> String {
        "[ref:\(token(sessionID: sessionID))]"
    }

    /// The session id in a Message-ID (with or without angle brackets) or bare token whose
    /// MAC verifies; nil for anything else.
    public func sessionID(fromMessageID messageID: String) -> Int64? {
        var text = Substring(messageID.lowercased())
        if text.hasPrefix("<") { text = text.dropFirst() }
        if let at = text.firstIndex(of: "@") { text = text[..<at] }
        return sessionID(fromToken: String(text))
    }

    /// Session ids from every marker in `text` that verifies, in order of appearance.
    /// Scans the UTF-8 bytes (the marker is ASCII; `[REF:` matches too): this runs on every
    /// delivered message over up to `MailStore.markerSearchBytes` of text.
    public func sessionIDs(inBody text: String) -> [Int64] {
        var found: [Int64] = []
        let bytes = Array(text.utf8)
        let open = Array("[ref:".utf8)
        var index = 0
        while let start = Self.firstIndex(of: open, in: bytes, from: index) {
            let tokenStart = start + open.count
            guard let end = bytes[tokenStart...].firstIndex(of: UInt8(ascii: "]")) else { break }
            let token = String(decoding: bytes[tokenStart..<end], as: UTF8.self).lowercased()
            if let id = sessionID(fromToken: token), !found.contains(id) { found.append(id) }
            index = end
        }
        return found
    }

    /// The first position of `needle` (lower-case ASCII, its first byte without case) in
    /// `bytes` at or after `from`, ignoring ASCII case. `memchr` finds each candidate first
    /// byte: a message body rarely holds many.
    private static func firstIndex(of needle: [UInt8], in bytes: [UInt8], from: Int) -> Int? {
        guard let first = needle.first, bytes.count >= needle.count else { return nil }
        return bytes.withUnsafeBufferPointer { buffer -> Int? in
            guard let base = buffer.baseAddress else { return nil }
            var i = from
            while i <= buffer.count - needle.count {
                guard let hit = memchr(base + i, Int32(first), buffer.count - needle.count + 1 - i) else { return nil }
                i = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                var j = 1
                while j < needle.count, buffer[i + j] | 0x20 == needle[j] | 0x20 { j += 1 }
                if j == needle.count { return i }
                i += 1
            }
            return nil
        }
    }

    /// The prefix of a forwarding check's token.
    public static let forwardingCheckPrefix = "pgf-"

    /// A new forwarding check token, `pgf-<nonce, 16 hex>-<MAC>` under the same key: the
    /// Message-ID and subject tag of the test message `postgate address verify-forwarding`
    /// sends to a customer's public address, recognised when their forwarding brings it back.
    public func forwardingCheckToken() -> String {
        let nonce = String(format: "%016llx", UInt64.random(in: .min ... .max))
        let body = Self.forwardingCheckPrefix + nonce
        return body + "-" + mac(body)
    }

    /// True for a forwarding check token (any case) whose MAC verifies.
    public func isForwardingCheck(token: String) -> Bool {
        let token = token.lowercased()
        guard token.hasPrefix(Self.forwardingCheckPrefix), token.count <= 64 else { return false }
        let pieces = token.dropFirst(Self.forwardingCheckPrefix.count).split(separator: "-", omittingEmptySubsequences: false)
        guard pieces.count == 2, pieces[0].count == 16 else { return false }
        return Self.constantTimeEqual(mac(Self.forwardingCheckPrefix + pieces[0]), String(pieces[1]))
    }

    private func sessionID(fromToken token: String) -> Int64? {
        guard token.hasPrefix(Self.prefix), token.count <= 64 else { return nil }
        let pieces = token.dropFirst(Self.prefix.count).split(separator: "-", omittingEmptySubsequences: false)
        guard pieces.count == 3, let id = Int64(pieces[0], radix: 36), id > 0, pieces[1].count == 8 else { return nil }
        let body = "\(Self.prefix)\(pieces[0])-\(pieces[1])"
        return Self.constantTimeEqual(mac(body), String(pieces[2])) ? id : nil
    }

    private static func constantTimeEqual(_ expected: String, _ given: String) -> Bool {
        let expected = Array(expected.utf8)
        let given = Array(given.utf8)
        guard expected.count == given.count else { return false }
        return zip(expected, given).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private func mac(_ body: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: key)
        return code.prefix(Self.macBytes).map { String(format: "%02x", $0) }.joined()
    }
}
