import Crypto
import Foundation
import PostgateConnectors
import PostgateMessage
import PostgateOutbound

/// A post of a Microsoft 365 group's conversation thread written as an Internet message
/// (RFC 5322), so that it enters the inbound pipeline as fetched mail does.
///
/// Graph gives a post no Message-ID and no header fields, only `from`, `sender`,
/// `receivedDateTime`, the body and `newParticipants`; the thread gives the subject (its
/// topic). So:
/// - From is the post's `from` (else `sender`); Sender is `sender` when it names someone
///   else (RFC 5322 section 3.6.2). A post with neither as a valid address is not written.
/// - To is the group's address; Cc the participants this post added to the thread.
/// - Date is `receivedDateTime` (section 3.6.1); Subject the thread's topic.
/// - Message-ID is derived from the post's id on the channel's domain, so the same post is
///   the same message whenever it is written (section 3.6.4); In-Reply-To names the post
///   before it in the thread, References the thread's first post and the ones before this,
///   so Postgate's sessions follow the thread.
/// - Every text from Graph goes into the header as a phrase or encoded words (RFC 2047) with
///   control characters replaced: a CR or LF in a name cannot start a header field.
/// - The body is a text/html or text/plain part in UTF-8; file attachments follow as base64
///   parts of a multipart/mixed (RFC 2046 section 5.1.3), file names per RFC 2231.
enum GraphPostMessage {
    /// The most References entries written: the thread's first post and the latest before.
    static let maxReferences = 10

    /// `<graph.{hash}@{domain}>`: stable for the post, unique in practice (128 bits of SHA-256).
    static func messageID(postID: String, domain: String) -> String {
        let digest = SHA256.hash(data: Data(postID.utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
        return "<graph.\(digest)@\(domain)>"
    }

    /// The message; nil when the post names no valid author address.
    /// - Parameters:
    ///   - earlier: the ids of the thread's posts before this one, oldest first.
    ///   - to: the group's address and name.
    ///   - domain: the channel address's domain, for the Message-IDs.
    static func compose(_ post: GraphPost, topic: String, earlier: [String], to: GraphRecipient, domain: String,
                        attachments: [GraphAttachment], now: Date = Date()) -> [UInt8]? {
        guard let from = [post.from, post.sender].compactMap({ $0.flatMap(mailbox) }).first else { return nil }
        var fields: [String] = []
        fields.append("From: " + from.text)
        if let sender = post.sender.flatMap(mailbox), sender.address != from.address {
            fields.append("Sender: " + sender.text)
        }
        fields.append("To: " + (mailbox(to)?.text ?? to.address))
        let cc = post.newParticipants.prefix(100).compactMap(mailbox).map(\.text)
        if !cc.isEmpty { fields.append("Cc: " + cc.joined(separator: ",\r\n ")) }
        fields.append("Subject: " + unstructured(topic))
        fields.append("Date: " + RFC5322Date.format(secondsSince1970: Int((post.receivedAt ?? now).timeIntervalSince1970)))
        fields.append("Message-ID: " + messageID(postID: post.id, domain: domain))
        if let parent = earlier.last {
            fields.append("In-Reply-To: " + messageID(postID: parent, domain: domain))
            let chosen = earlier.count <= maxReferences ? earlier : [earlier[0]] + earlier.suffix(maxReferences - 1)
            fields.append("References: " + chosen.map { messageID(postID: $0, domain: domain) }.joined(separator: "\r\n "))
        }
        fields.append("MIME-Version: 1.0")
        let boundary = "=_postgate-post-" + String(messageID(postID: post.id, domain: domain).dropFirst(7).prefix(32))
        let files = attachments.filter { $0.content != nil }
        let (textFields, textBody) = textPart(post, avoiding: boundary)
        var message = Array((fields.joined(separator: "\r\n") + "\r\n").utf8)
        guard !files.isEmpty else {
            message += Array((textFields.joined(separator: "\r\n") + "\r\n\r\n").utf8) + textBody
            return message
        }
        message += Array("Content-Type: multipart/mixed; boundary=\"\(boundary)\"\r\n\r\n".utf8)
        message += Array("--\(boundary)\r\n".utf8) + Array((textFields.joined(separator: "\r\n") + "\r\n\r\n").utf8) + textBody
        for file in files {
            message += Array("\r\n--\(boundary)\r\n".utf8) + Array((attachmentFields(file).joined(separator: "\r\n") + "\r\n\r\n").utf8)
            message += Array(TextPartEncoder.base64Lines(file.content ?? []).utf8)
        }
        message += Array("\r\n--\(boundary)--\r\n".utf8)
        return message
    }

    /// The body part's fields and encoded body, its lines ending in CRLF (RFC 5322 section 2.3).
    private static func textPart(_ post: GraphPost, avoiding boundary: String) -> ([String], [UInt8]) {
        var text = post.body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .replacingOccurrences(of: "\n", with: "\r\n")
        if !text.hasSuffix("\r\n") { text += "\r\n" }
        let (encoding, body) = TextPartEncoder.encode(text, avoiding: [boundary])
        return (["Content-Type: text/\(post.isHTML ? "html" : "plain"); charset=utf-8", "Content-Transfer-Encoding: \(encoding)"], body)
    }

    /// An attachment's fields: its media type if well formed (RFC 2045 section 5.1), else
    /// application/octet-stream; its file name quoted, or RFC 2231 encoded when not ASCII.
    private static func attachmentFields(_ file: GraphAttachment) -> [String] {
        let declared = file.contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        let parts = declared.split(separator: "/", omittingEmptySubsequences: false)
        let type = parts.count == 2 && parts.allSatisfy({ !$0.isEmpty && $0.unicodeScalars.allSatisfy(isTokenCharacter) })
            ? declared : "application/octet-stream"
        var name = String(clean(file.name).filter { $0 != "\"" && $0 != "\\" }.prefix(200))
        if name.isEmpty { name = "attachment" }
        let disposition = file.isInline ? "inline" : "attachment"
        var fields: [String]
        if name.unicodeScalars.allSatisfy({ $0.isASCII }) {
            fields = ["Content-Type: \(type); name=\"\(name)\"", "Content-Disposition: \(disposition); filename=\"\(name)\""]
        } else {
            let encoded = HeaderPhraseEncoder.encodedWords(name).joined(separator: " ")
            fields = ["Content-Type: \(type);\r\n name=\"\(encoded)\"", "Content-Disposition: \(disposition);\r\n filename*=utf-8''\(percentEncoded(name))"]
        }
        fields.append("Content-Transfer-Encoding: base64")
        if file.isInline, let id = file.contentID.map(clean), !id.isEmpty,
           id.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && $0 != "<" && $0 != ">" }) {
            fields.append("Content-ID: <\(id)>")
        }
        return fields
    }

    private static func isTokenCharacter(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value > 0x20 && scalar.value < 0x7F && !"()<>@,;:\\\"/[]?=".unicodeScalars.contains(scalar)
    }

    /// RFC 2231 section 4: the UTF-8 octets, attribute-chars kept, others as %XX.
    private static func percentEncoded(_ text: String) -> String {
        text.utf8.map { byte in
            let scalar = Unicode.Scalar(byte)
            return byte < 0x7F && isTokenCharacter(scalar) && !"*'%".unicodeScalars.contains(scalar)
                ? String(Character(scalar)) : String(format: "%%%02X", byte)
        }.joined()
    }

    /// A mailbox of the header (RFC 5322 section 3.4): the address if it parses, the name as
    /// a phrase. nil for an address that is not one.
    private static func mailbox(_ recipient: GraphRecipient) -> (address: String, text: String)? {
        guard let address = try? EmailAddress(recipient.address) else { return nil }
        let name = String(clean(recipient.name).prefix(200))
        return (address.canonical, HeaderPhraseEncoder.mailbox(name: name == recipient.address ? nil : name, address: address.description))
    }

    /// An unstructured field's text (RFC 5322 section 3.2.5): as is when printable ASCII,
    /// else encoded words (RFC 2047) on folded lines.
    static func unstructured(_ text: String) -> String {
        let cleaned = String(clean(text).prefix(900))
        if cleaned.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) { return cleaned }
        return HeaderPhraseEncoder.encodedWords(cleaned).joined(separator: "\r\n ")
    }

    /// Control characters (CR and LF among them) as spaces, runs of white space as one,
    /// trimmed: nothing from Graph can end a header line.
    static func clean(_ text: String) -> String {
        let spaced = String(String.UnicodeScalarView(text.unicodeScalars.map { scalar in
            scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}" ? " " : scalar
        }))
        return spaced.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }
}
