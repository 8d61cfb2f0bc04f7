import Foundation
import PostgateConnectors
import Testing
@testable import PostgateGateway

/// A group's post written as an Internet message: header fields from Graph's values
/// (encoded, never injected), threading from the thread's earlier posts, attachments.
@Suite struct GraphPostMessageTests {
    static let group = GraphRecipient(name: "Support Team", address: "team@customer.example")
    static let received = Date(timeIntervalSince1970: 1_796_630_400)  // 2026-12-07 08:00:00 UTC

    static func post(id: String = "AAQkpost1==", from: GraphRecipient? = GraphRecipient(name: "Jo Customer", address: "jo@example.org"),
                     sender: GraphRecipient? = nil, body: String = "<p>Hello</p>", isHTML: Bool = true,
                     participants: [GraphRecipient] = []) -> GraphPost {
        GraphPost(id: id, from: from, sender: sender ?? from, receivedAt: received, isHTML: isHTML, body: body,
                  newParticipants: participants)
    }

    static func compose(_ post: GraphPost, topic: String = "Order 42", earlier: [String] = [],
                        attachments: [GraphAttachment] = []) throws -> (header: [String: String], raw: String) {
        let bytes = try #require(GraphPostMessage.compose(post, topic: topic, earlier: earlier, to: group, domain: "acme.test",
                                                          attachments: attachments))
        let raw = String(decoding: bytes, as: UTF8.self)
        let head = try #require(raw.range(of: "\r\n\r\n")).lowerBound
        var fields: [String: String] = [:]
        // Unfolded (RFC 5322 section 2.2.3): a line starting with white space continues the field.
        for line in raw[..<head].replacingOccurrences(of: "\r\n ", with: " ").components(separatedBy: "\r\n") {
            let (name, value) = try #require(line.firstIndex(of: ":").map { (String(line[..<$0]), String(line[line.index(after: $0)...])) })
            #expect(fields[name.lowercased()] == nil, "one \(name) field")
            fields[name.lowercased()] = value.trimmingCharacters(in: .whitespaces)
        }
        return (fields, raw)
    }

    @Test func aPostBecomesAMessageFromItsAuthorToTheGroup() throws {
        let (header, raw) = try Self.compose(Self.post())
        #expect(header["from"] == "Jo Customer <jo@example.org>")
        #expect(header["sender"] == nil, "the author sent it")
        #expect(header["to"] == "Support Team <team@customer.example>")
        #expect(header["subject"] == "Order 42")
        #expect(header["date"] == "Mon, 07 Dec 2026 08:00:00 +0000")
        #expect(header["message-id"] == GraphPostMessage.messageID(postID: "AAQkpost1==", domain: "acme.test"))
        #expect(header["in-reply-to"] == nil && header["references"] == nil)
        #expect(header["content-type"] == "text/html; charset=utf-8" && header["content-transfer-encoding"] == "7bit")
        #expect(raw.hasSuffix("\r\n\r\n<p>Hello</p>\r\n"))
        // The same post is the same message, on the channel's domain.
        #expect(GraphPostMessage.messageID(postID: "AAQkpost1==", domain: "acme.test").hasSuffix("@acme.test>"))
        #expect(GraphPostMessage.messageID(postID: "AAQkpost2==", domain: "acme.test")
                != GraphPostMessage.messageID(postID: "AAQkpost1==", domain: "acme.test"))
    }

    @Test func aReplyInAThreadNamesThePostsBeforeIt() throws {
        let earlier = (1...12).map { "AAQkpost\($0)==" }
        let (header, _) = try Self.compose(Self.post(id: "AAQkpost13=="), earlier: earlier)
        let id = { GraphPostMessage.messageID(postID: $0, domain: "acme.test") }
        #expect(header["in-reply-to"] == id("AAQkpost12=="))
        // The thread's first post and the nine latest (RFC 5322 section 3.6.4 allows trimming).
        #expect(header["references"] == ([earlier[0]] + earlier.suffix(9)).map(id).joined(separator: " "))
    }

    @Test func controlCharactersInNamesAndTopicCannotStartAHeaderField() throws {
        let hostile = GraphRecipient(name: "Eve\r\nBcc: victim@example.net\r\nX-Injected: 1", address: "eve@example.org")
        let (header, raw) = try Self.compose(Self.post(from: hostile), topic: "Refund\r\nX-Injected: 2\nplease")
        #expect(header["bcc"] == nil && header["x-injected"] == nil, "\(raw)")
        #expect(header["from"] == "\"Eve Bcc: victim@example.net X-Injected: 1\" <eve@example.org>")
        #expect(header["subject"] == "Refund X-Injected: 2 please")
        // An address that is not one gives no author: the post is not written.
        let broken = GraphRecipient(name: "x", address: "eve@example.org>\r\nBcc: victim@example.net")
        #expect(GraphPostMessage.compose(Self.post(from: broken, sender: broken), topic: "t", earlier: [], to: Self.group,
                                         domain: "acme.test", attachments: []) == nil)
    }

    @Test func nonASCIITextIsEncodedAndADelegateIsTheSender() throws {
        let delegate = GraphRecipient(name: "Assistant", address: "assist@example.org")
        let (header, _) = try Self.compose(Self.post(from: GraphRecipient(name: "Zoë Müller", address: "zoe@example.org"), sender: delegate,
                                                     body: "Grüße", isHTML: false),
                                           topic: "Bestellung über 100 €")
        #expect(header["from"] == "=?UTF-8?B?\(Data("Zoë Müller".utf8).base64EncodedString())?= <zoe@example.org>")
        #expect(header["sender"] == "Assistant <assist@example.org>")
        #expect(header["subject"] == "=?UTF-8?B?\(Data("Bestellung über 100 €".utf8).base64EncodedString())?=")
        #expect(header["content-type"] == "text/plain; charset=utf-8" && header["content-transfer-encoding"] == "base64")
    }

    @Test func newParticipantsAreCopiedAndFilesAttachedAsBase64Parts() throws {
        let bytes: [UInt8] = (0..<300).map { UInt8($0 % 256) }
        let files = [GraphAttachment(name: "Rechnung März.pdf", contentType: "application/pdf", content: bytes),
                     GraphAttachment(name: "a\"b.txt", contentType: "bad type", content: Array("hi".utf8)),
                     GraphAttachment(name: "event", contentType: "message/rfc822", content: nil)]
        let post = Self.post(participants: [GraphRecipient(name: "Ann", address: "ann@example.org")])
        let (header, raw) = try Self.compose(post, attachments: files)
        #expect(header["cc"] == "Ann <ann@example.org>")
        let boundary = try #require(header["content-type"]?.split(separator: "\"").dropFirst().first.map(String.init))
        #expect(header["content-type"] == "multipart/mixed; boundary=\"\(boundary)\"")
        let parts = raw.components(separatedBy: "--\(boundary)")
        #expect(parts.count == 5 && parts[4] == "--\r\n", "text, two files, the end: \(parts.count)")
        #expect(parts[1].contains("Content-Type: text/html; charset=utf-8"))
        #expect(parts[2].contains("Content-Type: application/pdf;\r\n name=\"=?UTF-8?B?"))
        #expect(parts[2].contains("filename*=utf-8''Rechnung%20M%C3%A4rz.pdf"))
        let encoded = try #require(parts[2].components(separatedBy: "\r\n\r\n").last?.replacingOccurrences(of: "\r\n", with: ""))
        #expect(Data(base64Encoded: encoded).map { [UInt8]($0) } == bytes)
        #expect(parts[3].contains("Content-Type: application/octet-stream; name=\"ab.txt\""))
        #expect(!raw.contains("name=\"event\""), "an attachment without content is not written")
    }
}
