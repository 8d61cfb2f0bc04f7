import Crypto
import Foundation
import PostgateMessage
import PostgateSessions
import PostgateIndex

/// The thread facts of a message being delivered and its body digest.
package struct MessageThreadFacts {
    package var facts: SessionHeaderFacts?
    package var digest: String?
}

extension MailStore {
    /// Bytes of the message text searched for a session marker.
    package static let markerSearchBytes = 256 * 1024

    /// Reads the message once: its MIME text (for the body marker) and the SHA-256 of its
    /// body (for duplicates: the header differs between a forward and a Bcc copy, the body
    /// does not), from memory when the message fitted in `IncomingMessage`'s buffer, else
    /// from the spool file. A message that cannot be read still gets header-only facts.
    package func threadFacts(of message: IncomingMessage, envelope: DeliveryEnvelope) -> MessageThreadFacts {
        var text: String?
        var digest: String?
        if let bytes = message.contents {
            let root = MIMEParser().parse(bytes)
            text = try? MIMETextExtractor.text(of: root, from: MIMEBytesSource(bytes), maximumBytes: Self.markerSearchBytes)
            digest = Self.hex(SHA256.hash(data: bytes[min(root.bodyRange.offset, bytes.count)...]))
        } else if let root = try? MIMEParser().parse(fileAtPath: message.spoolPath) {
            let source = MIMEFileSource(path: message.spoolPath)
            text = try? MIMETextExtractor.text(of: root, from: source, maximumBytes: Self.markerSearchBytes)
            digest = try? Self.sha256(path: message.spoolPath, from: root.bodyRange.offset)
        }
        let facts = SessionHeaderFacts(header: envelope.header, envelopeSender: envelope.mailFrom, bodyText: text)
        return MessageThreadFacts(facts: facts, digest: digest)
    }

    /// Removes the `tmp/` links of targets that got no row (duplicates).
    package func dropDuplicateLinks(_ message: IncomingMessage, targets: [MailboxTarget], stored: [StoredMessage]) {
        let kept = Set(stored.map(\.mailboxID))
        for target in targets where !kept.contains(target.mailboxID) {
            try? data.maildir(target.mailboxPath).removeFromTmp(message.uniqueName)
            logger.info("duplicate message not stored again", metadata: ["mailbox": "\(target.mailboxPath)"])
        }
    }

    private static func sha256(path: String, from offset: Int) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CocoaError(.fileReadNoSuchFile) }
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 64 * 1024), !chunk.isEmpty { hasher.update(data: chunk) }
        return hex(hasher.finalize())
    }

    /// Lower-case hexadecimal of a digest.
    private static func hex(_ digest: SHA256.Digest) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(SHA256.byteCount * 2)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
