import Crypto
import Foundation
import PostgateDirectory
import PostgateIndex
import PostgateMaildir
import PostgateMessage

/// Webhook subscriptions (`postgate webhook`) and the outbox the webhook worker sends from.
extension MailStore {
    /// Adds a subscription with a new signing secret (Standard Webhooks form: `whsec_` and
    /// base64 of 32 random bytes), sealed at rest with the data directory's secret key.
    /// - Returns: the record and the secret, shown once.
    public func addWebhook(name: String, url: String, events: [String], secretKeyPath: String? = nil,
                           now: Date = Date()) throws(StoreError) -> (WebhookRecord, String) {
        let secret = Self.makeSigningSecret()
        let sealed = try secretBox(keyPath: secretKeyPath).seal(secret)
        return (try directory.addWebhook(name: name, url: url, events: events, sealedSecret: sealed, now: now), secret)
    }

    /// A secret for signing events (webhooks, bots): `whsec_` and base64 of 32 random bytes.
    static func makeSigningSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return "whsec_" + Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64EncodedString()
    }

    public func webhooks() throws(StoreError) -> [WebhookRecord] {
        try directory.webhooks()
    }

    public func removeWebhook(name: String) throws(StoreError) {
        try directory.removeWebhook(name: name)
    }

    /// The newest deliveries first, of one subscription or of all.
    public func webhookDeliveries(webhook: String? = nil, limit: Int = 50) throws(StoreError) -> [WebhookDeliveryRecord] {
        try directory.webhookDeliveries(webhook: webhook, limit: limit)
    }

    public func dueWebhookDeliveries(now: Date = Date(), limit: Int = 32) throws(StoreError) -> [WebhookDue] {
        try directory.dueWebhookDeliveries(now: now, limit: limit)
    }

    public func recordWebhookDelivery(_ id: Int64, delivered: Bool, status: Int?, error: String?, nextAttempt: Date?,
                                      now: Date = Date()) throws(StoreError) {
        try directory.recordWebhookDelivery(id, delivered: delivered, status: status, error: error, nextAttempt: nextAttempt, now: now)
    }

    @discardableResult
    public func retryWebhookDeliveries(webhook: String, now: Date = Date()) throws(StoreError) -> Int {
        try directory.retryWebhookDeliveries(webhook: webhook, now: now)
    }

    /// What an event's payload says of its message: the header fields a bot needs, the
    /// decoded text and HTML (each cut at `maximumBytes`), the attachments' names and sizes.
    /// Nil when the message is gone (removed by retention, say).
    public func webhookMessage(mailboxPath: String, uid: UInt32, maximumBytes: Int) throws(StoreError) -> WebhookMessage? {
        guard let mailbox = try index.mailbox(path: mailboxPath),
              let stored = try index.message(mailboxID: mailbox.id, uid: uid) else { return nil }
        var message = WebhookMessage(
            messageId: stored.messageID, inReplyTo: stored.inReplyTo, from: stored.headerFrom.map(EncodedWordDecoder.decode),
            to: stored.headerTo.map(EncodedWordDecoder.decode), cc: stored.headerCc.map(EncodedWordDecoder.decode),
            subject: stored.subject.map(EncodedWordDecoder.decode), date: stored.date, size: stored.size)
        guard let path = messageFilePath(stored), let root = try? MIMEParser().parse(fileAtPath: path) else { return message }
        let source = MIMEFileSource(path: path)
        for part in root.allParts where !part.contentType.isMultipart {
            if part.isInlineText, part.contentType.subtype == "plain", message.text == nil {
                (message.text, message.textTruncated) = Self.bounded(try? part.decodedText(from: source, maximumBytes: maximumBytes + 4), maximumBytes)
            } else if part.isInlineText, part.contentType.subtype == "html", message.html == nil {
                (message.html, message.htmlTruncated) = Self.bounded(try? part.decodedText(from: source, maximumBytes: maximumBytes + 4), maximumBytes)
            } else if !part.isInlineText, !part.contentType.isEncapsulatedMessage {
                let name = part.disposition?.parameters["filename"] ?? part.contentType.parameters["name"]
                message.attachments.append(.init(name: name.map(EncodedWordDecoder.decode),
                                                 contentType: "\(part.contentType.type)/\(part.contentType.subtype)",
                                                 size: part.bodyRange.length))
            }
        }
        return message
    }

    private static func bounded(_ text: String?, _ maximumBytes: Int) -> (String?, Bool) {
        guard let text else { return (nil, false) }
        guard text.utf8.count > maximumBytes else { return (text, false) }
        var cut = String(decoding: text.utf8.prefix(maximumBytes), as: UTF8.self)
        while cut.utf8.count > maximumBytes { cut.removeLast() }
        return (cut, true)
    }

    /// The message's file in `new/` or `cur/`, or nil.
    func messageFilePath(_ message: StoredMessage) -> String? {
        let maildir = data.maildir(message.mailboxPath)
        let path = maildir.new + "/" + message.filename
        if FileSystem.exists(path) { return path }
        let names = (try? FileSystem.contents(of: maildir.cur)) ?? []
        return names.first { $0 == message.filename || $0.hasPrefix(message.filename + ":") }.map { maildir.cur + "/" + $0 }
    }
}

/// The message of a `message.received` event. JSON keys as the properties; absent values
/// are left out.
public struct WebhookMessage: Sendable, Codable, Equatable {
    public struct Attachment: Sendable, Codable, Equatable {
        public var name: String?
        public var contentType: String
        /// Bytes as sent (before transfer decoding).
        public var size: Int
    }

    public var messageId: String?
    public var inReplyTo: String?
    public var from: String?
    public var to: String?
    public var cc: String?
    public var subject: String?
    public var date: String?
    public var size: Int
    public var text: String?
    public var textTruncated = false
    public var html: String?
    public var htmlTruncated = false
    public var attachments: [Attachment] = []
}
