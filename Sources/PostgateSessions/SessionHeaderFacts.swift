import Foundation
import PostgateMessage

/// What a new message says about its thread: the header fields the resolver uses, parsed
/// and normalised (Message-IDs without angle brackets, addresses in canonical form).
public struct SessionHeaderFacts: Sendable, Equatable {
    public var messageID: String?
    public var inReplyTo: [String]
    public var references: [String]
    /// The first 22 bytes of Outlook's Thread-Index, hex: the same for every message of a
    /// conversation (MS-OXOMSG section 2.2.1.3, MS-OXCMAIL section 2.2.3.2.6).
    public var threadIndexRoot: String?
    public var threadTopic: String?
    /// The customer: the From address (or the envelope sender when From is unusable).
    public var from: String?
    /// To and Cc addresses.
    public var recipients: [String]
    public var subject: String?
    /// Session markers found in the body text (see `SessionMessageID.bodyMarker`), raw text.
    public var bodyText: String?

    public init(messageID: String? = nil, inReplyTo: [String] = [], references: [String] = [],
                threadIndexRoot: String? = nil, threadTopic: String? = nil, from: String? = nil,
                recipients: [String] = [], subject: String? = nil, bodyText: String? = nil) {
        self.messageID = messageID
        self.inReplyTo = inReplyTo
        self.references = references
        self.threadIndexRoot = threadIndexRoot
        self.threadTopic = threadTopic
        self.from = from
        self.recipients = recipients
        self.subject = subject
        self.bodyText = bodyText
    }

    /// Reads the facts from a parsed header; `envelopeSender` stands in for a missing From.
    public init(header: MessageHeader, envelopeSender: String? = nil, bodyText: String? = nil) {
        self.init(
            messageID: Self.messageIDs(header["Message-ID"]).first,
            inReplyTo: Self.messageIDs(header["In-Reply-To"]),
            references: Self.messageIDs(header.values("References").joined(separator: " ")),
            threadIndexRoot: header["Thread-Index"].flatMap(Self.threadIndexRoot),
            threadTopic: header["Thread-Topic"].map(EncodedWordDecoder.decode),
            from: AddressListParser.addresses(header["From"] ?? "").first
                ?? envelopeSender.flatMap { AddressListParser.addresses($0).first },
            recipients: AddressListParser.addresses(header.values("To") + header.values("Cc")),
            subject: header["Subject"].map(EncodedWordDecoder.decode),
            bodyText: bodyText)
    }

    /// The `<id>` tokens of a msg-id list (RFC 5322 section 3.6.4), brackets removed; at most
    /// 100 (long References chains are trimmed to their newest ids).
    public static func messageIDs(_ value: String?) -> [String] {
        guard let value else { return [] }
        var ids: [String] = []
        if value.utf8.allSatisfy({ $0 < 0x80 }) {
            ids = asciiMessageIDs(value)
        } else {
            ids = unicodeMessageIDs(value)
        }
        if ids.isEmpty, let bare = value.split(whereSeparator: \.isWhitespace).first, bare.contains("@") {
            ids.append(String(bare))  // some clients omit the brackets
        }
        return Array(ids.suffix(100))
    }

    /// `messageIDs` of an ASCII value, on its bytes: every delivery reads three such fields,
    /// and a `Character` at a time cost more than all the rest of their facts.
    static func asciiMessageIDs(_ value: String) -> [String] {
        var ids: [String] = []
        let bytes = Array(value.utf8)
        var index = 0
        while let open = bytes[index...].firstIndex(of: UInt8(ascii: "<")),
              let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: ">")) {
            let id = bytes[(open + 1)..<close].filter { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D && $0 != 0x0A && $0 != 0x0B && $0 != 0x0C }
            if !id.isEmpty, id.count <= 998 { ids.append(String(decoding: id, as: UTF8.self)) }
            index = close + 1
        }
        return ids
    }

    static func unicodeMessageIDs(_ value: String) -> [String] {
        var ids: [String] = []
        var rest = Substring(value)
        while let open = rest.firstIndex(of: "<") {
            rest = rest[rest.index(after: open)...]
            guard let close = rest.firstIndex(of: ">") else { break }
            let id = rest[..<close].filter { !$0.isWhitespace }
            if !id.isEmpty, id.count <= 998 { ids.append(String(id)) }
            rest = rest[rest.index(after: close)...]
        }
        return ids
    }

    /// Hex of the 22-byte conversation header of a base64 Thread-Index, or nil.
    public static func threadIndexRoot(_ value: String) -> String? {
        let bytes = Base64Decoder.decode(Array(value.utf8))
        guard bytes.count >= 22 else { return nil }
        return bytes.prefix(22).map { String(format: "%02x", $0) }.joined()
    }

    /// Every id the message refers to, nearest first: In-Reply-To, then References newest
    /// to oldest.
    public var referencedIDs: [String] {
        var seen: Set<String> = []
        return (inReplyTo + references.reversed()).filter { seen.insert($0).inserted }
    }
}
