import Foundation
import PostgateDirectory
import PostgateIndex
import PostgateMaildir
import PostgateMessage

/// A file attached to a standard response.
public struct ResponseAttachment: Sendable {
    public var filename: String
    public var contentType: String
    public var data: [UInt8]

    public init(filename: String, contentType: String, data: [UInt8]) {
        self.filename = filename
        self.contentType = contentType
        self.data = data
    }

    /// The media type of a file name's extension, for the attachment's Content-Type.
    public static func contentType(of name: String) -> String {
        let types = ["pdf": "application/pdf", "txt": "text/plain; charset=utf-8", "html": "text/html; charset=utf-8",
                     "htm": "text/html; charset=utf-8", "csv": "text/csv; charset=utf-8", "png": "image/png",
                     "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "zip": "application/zip",
                     "doc": "application/msword", "ics": "text/calendar; charset=utf-8", "vcf": "text/vcard; charset=utf-8",
                     "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                     "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]
        return types[URL(fileURLWithPath: name).pathExtension.lowercased()] ?? "application/octet-stream"
    }
}

/// Standard responses: shared answers agents insert from their mail clients. Each is a
/// message in a read-only folder, `Shared/Responses` for every agent or
/// `Shared/Responses/<queue>` for the agents of one queue, so any client can open it with
/// "edit as new" (or "use as template") and send it as their reply.
extension MailStore {
    /// The most text or HTML of one response, and the most its attachments may weigh.
    public static let maxResponseText = 256 * 1024
    public static let maxResponseAttachments = 10 * 1024 * 1024

    public func responses() throws(StoreError) -> [ResponseRecord] {
        try directory.responses()
    }

    public func response(named name: String) throws(StoreError) -> ResponseRecord {
        guard let record = try directory.response(named: name) else { throw .responseNotFound(name) }
        return record
    }

    /// The stored message of a response (what agents see).
    public func responseMessage(named name: String) throws(StoreError) -> [UInt8] {
        let record = try response(named: name)
        guard let mailbox = try index.mailbox(path: record.mailboxPath),
              let summary = try index.details(mailboxID: mailbox.id, uids: record.uid...record.uid).first,
              let path = data.maildir(record.mailboxPath).locate(summary.filename, letters: summary.fileLetters),
              let bytes = FileManager.default.contents(atPath: path) else { throw .responseNotFound(name) }
        return Array(bytes)
    }

    /// Adds (or, with `replacing`, replaces) the response `name`: the message is stored
    /// durably in its folder before its row names it; a replaced one is removed after. Every
    /// value is checked first, and a refused response changes nothing.
    @discardableResult
    public func addResponse(name: String, subject: String, text: String, html: String?, attachments: [ResponseAttachment],
                            queue: String?, replacing: Bool, now: Date = Date()) throws(StoreError) -> ResponseRecord {
        try ResponseRecord.validateName(name)
        guard !subject.isEmpty, subject.count <= 200, !subject.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalidSetting("the subject must be one line of 1 to 200 characters")
        }
        guard !text.isEmpty else { throw .invalidSetting("the response needs a text: give it with --text FILE") }
        for (part, value) in [("text", text), ("HTML", html ?? "")] where value.utf8.count > Self.maxResponseText {
            throw .invalidSetting("the \(part) is \(value.utf8.count) bytes; at most \(Self.maxResponseText) are allowed")
        }
        let weight = attachments.reduce(0) { $0 + $1.data.count }
        guard weight <= Self.maxResponseAttachments else {
            throw .invalidSetting("the attachments weigh \(weight) bytes; at most \(Self.maxResponseAttachments) are allowed")
        }
        if !replacing, try directory.response(named: name) != nil { throw .responseExists(name) }
        let mailbox = try directory.responseMailbox(queue: queue) { (path, proposed) throws(StoreError) in
            try createMailbox(at: path, proposedUIDValidity: proposed)
        }
        let bytes = ResponseMessage.compose(name: name, subject: subject, text: text, html: html, attachments: attachments, date: now)
        let visible = VisibleMailbox(name: mailbox.path, kind: .shared, mailboxID: mailbox.id, path: mailbox.path, specialUse: nil,
                                     privateSeen: false)
        let stored = try append(bytes, to: visible, flags: MessageFlags(imapNames: ["\\Seen"]), internalDate: now)
        let replaced: (mailboxID: Int64, uid: UInt32)?
        do {
            replaced = try directory.saveResponse(name: name, subject: subject, queue: mailbox.queue, mailboxID: mailbox.id, uid: stored.uid,
                                                  size: bytes.count, attachments: attachments.map(\.filename), replacing: replacing, now: now)
        } catch {
            try? removeMessage(mailboxID: mailbox.id, uid: stored.uid)
            throw error
        }
        if let replaced { try removeMessage(mailboxID: replaced.mailboxID, uid: replaced.uid) }
        return try response(named: name)
    }

    /// Removes the response and its message (agents' clients see it vanish).
    public func removeResponse(named name: String) throws(StoreError) {
        let place = try directory.removeResponse(named: name)
        try removeMessage(mailboxID: place.mailboxID, uid: place.uid)
    }

    private func removeMessage(mailboxID: Int64, uid: UInt32) throws(StoreError) {
        guard let mailbox = try index.mailboxes().first(where: { $0.id == mailboxID }) else { return }
        _ = try removeMessages([(mailbox, [uid])])
    }
}

/// A standard response as a message a mail client can open as a new one.
enum ResponseMessage {
    static func compose(name: String, subject: String, text: String, html: String?, attachments: [ResponseAttachment],
                        date: Date) -> [UInt8] {
        let unique = UUID().uuidString.lowercased()
        var lines = [
            // RFC 2606: `.invalid` is never an address anyone receives mail at; the client
            // replaces From with the agent's identity when sending.
            "From: Standard responses <responses@postgate.invalid>",
            "Subject: " + encodedWords(subject),
            "Date: " + RFC5322Date.format(secondsSince1970: Int(date.timeIntervalSince1970)),
            "Message-ID: <response-\(unique)@postgate.invalid>",
            "X-Postgate-Response: \(name)",
            "MIME-Version: 1.0",
        ]
        let body = alternative(text: text, html: html)
        if attachments.isEmpty {
            lines += body
        } else {
            let boundary = "=_postgate-mixed-" + unique
            lines += ["Content-Type: multipart/mixed; boundary=\"\(boundary)\"", "", "--\(boundary)"] + body
            for attachment in attachments {
                lines += ["--\(boundary)", "Content-Type: \(attachment.contentType)",
                          "Content-Disposition: attachment; " + filenameParameter(attachment.filename),
                          "Content-Transfer-Encoding: base64", "", base64(attachment.data)]
            }
            lines += ["--\(boundary)--", ""]
        }
        return Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    /// The content fields and body of the text part, or of text and HTML as alternatives.
    private static func alternative(text: String, html: String?) -> [String] {
        guard let html else { return part("text/plain", text) }
        let boundary = "=_postgate-alt-" + UUID().uuidString.lowercased()
        return ["Content-Type: multipart/alternative; boundary=\"\(boundary)\"", "", "--\(boundary)"] + part("text/plain", text)
            + ["--\(boundary)"] + part("text/html", html) + ["--\(boundary)--", ""]
    }

    private static func part(_ type: String, _ text: String) -> [String] {
        ["Content-Type: \(type); charset=utf-8", "Content-Transfer-Encoding: base64", "", base64(Array(text.utf8))]
    }

    private static func base64(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
    }

    /// RFC 2047 section 5: `=?UTF-8?B?…?=` words of at most 75 characters for a subject
    /// that is not plain ASCII, split between characters.
    static func encodedWords(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { !$0.isASCII }) else { return text }
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 45 {
                words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=") }
        return words.joined(separator: "\r\n ")
    }

    /// RFC 2183 `filename`, or RFC 2231 `filename*` for a name that is not plain ASCII.
    private static func filenameParameter(_ name: String) -> String {
        let plain = name.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" }
        if plain { return "filename=\"\(name)\"" }
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
        let encoded = name.utf8.map { unreserved.contains($0) ? String(UnicodeScalar($0)) : String(format: "%%%02X", $0) }.joined()
        return "filename*=UTF-8''\(encoded)"
    }
}
