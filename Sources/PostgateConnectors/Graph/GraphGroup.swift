import Foundation
import NIOHTTP1

/// A Microsoft 365 group's conversations through Microsoft Graph (`/groups/{id}`): the group,
/// its conversation threads, each thread's posts and a post's attachments. Graph serves a
/// group's mail this way, not as messages with MIME. Every call follows `GraphRetry`.
///
/// Reading needs the application permission `Group-Conversation.Read.All` (or the broader
/// `Group.Read.All`); finding a group by its mail address needs `Group.Read.All`.
public struct GraphGroup: Sendable {
    public typealias TokenProvider = GraphFolderReader.TokenProvider

    /// The group as Graph names it.
    public struct Identity: Sendable, Equatable {
        public var id: String
        public var displayName: String
        public var mail: String?

        public init(id: String, displayName: String, mail: String?) {
            self.id = id
            self.displayName = displayName
            self.mail = mail
        }
    }

    public let client: GraphClient
    /// The group's object id (a GUID) or its mail address, as configured.
    public let group: String
    public let token: TokenProvider
    let pause: @Sendable (_ seconds: Int) async throws -> Void
    /// The most pages of one collection read in a pass (a bound on a runaway `nextLink`).
    static let maxPages = 10_000

    public init(client: GraphClient, group: String, token: @escaping TokenProvider,
                pause: @escaping @Sendable (_ seconds: Int) async throws -> Void = { try await Task.sleep(for: .seconds($0)) }) {
        self.client = client
        self.group = group
        self.token = token
        self.pause = pause
    }

    /// The group's id, name and mail address: by `GET /groups/{id}`, or for a mail address
    /// by `GET /groups?$filter=mail eq '…'` (OData's quoting: a `'` doubled).
    public func identity() async throws -> Identity {
        if UUID(uuidString: group) != nil {
            let response = try await client.call(.GET, "/groups/\(GraphMailbox.segment(group))?$select=id,displayName,mail",
                                                 token: token, pause: pause, allowNotFound: true)
            guard response.status != 404 else { throw GraphError.notFound("no group has the id \(group)") }
            guard let object = Self.object(response.body), let found = Self.identity(object) else {
                throw GraphError.protocolError("the group answer has no id")
            }
            return found
        }
        let literal = "'" + group.replacingOccurrences(of: "'", with: "''") + "'"
        let filter = Self.queryValue("mail eq " + literal)
        let response = try await client.call(.GET, "/groups?$filter=\(filter)&$select=id,displayName,mail", token: token, pause: pause)
        guard let values = Self.object(response.body)?["value"] as? [[String: Any]] else {
            throw GraphError.protocolError("the group list is not a JSON object with a value array")
        }
        let found = values.compactMap(Self.identity)
        guard found.count == 1 else {
            throw GraphError.notFound(found.isEmpty ? "no group has the mail address \(group)"
                                      : "\(found.count) groups have the mail address \(group); configure the group's id")
        }
        return found[0]
    }

    /// `/groups/{id}/threads/{id}` for the group's id.
    public static func threadPath(group id: String, thread: String) -> String {
        "/groups/\(GraphMailbox.segment(id))/threads/\(GraphMailbox.segment(thread))"
    }

    /// Every conversation thread of the group (`GET /groups/{id}/threads`), every page.
    public func threads(groupID: String) async throws -> [GraphThread] {
        try await (collection("/groups/\(GraphMailbox.segment(groupID))/threads", what: "thread list") ?? []).map { object throws in
            guard let thread = GraphThread(object) else { throw GraphError.protocolError("a thread has no id") }
            return thread
        }
    }

    /// The first page of the group's threads: what `connector test` shows.
    public func firstThreads(groupID: String) async throws -> [GraphThread] {
        let response = try await client.call(.GET, "/groups/\(GraphMailbox.segment(groupID))/threads", token: token, pause: pause)
        guard let values = Self.object(response.body)?["value"] as? [[String: Any]] else {
            throw GraphError.protocolError("the thread list is not a JSON object with a value array")
        }
        return values.compactMap(GraphThread.init)
    }

    /// Every post of a thread (`GET /groups/{id}/threads/{id}/posts`), every page, in the
    /// order received (Graph does not promise one); nil when the thread is gone (404).
    public func posts(groupID: String, threadID: String) async throws -> [GraphPost]? {
        guard let objects = try await collection(Self.threadPath(group: groupID, thread: threadID) + "/posts", what: "post list",
                                                 allowNotFound: true) else { return nil }
        let posts = try objects.map { object throws in
            guard let post = GraphPost(object) else { throw GraphError.protocolError("a post has no id") }
            return post
        }
        return posts.sorted { ($0.receivedAt ?? .distantPast, $0.id) < ($1.receivedAt ?? .distantPast, $1.id) }
    }

    /// What reading a post's attachments came to.
    public enum AttachmentsOutcome: Sendable, Equatable {
        case fetched([GraphAttachment])
        /// The answer is larger than allowed: the post is too large to store.
        case tooLarge
        /// 404: the post is gone.
        case notFound
    }

    /// A post's attachments (`GET …/posts/{id}/attachments`), the answer read up to `maxBytes`.
    public func attachments(groupID: String, threadID: String, postID: String, maxBytes: Int) async throws -> AttachmentsOutcome {
        let path = Self.threadPath(group: groupID, thread: threadID) + "/posts/\(GraphMailbox.segment(postID))/attachments"
        let response: GraphResponse
        do {
            response = try await client.call(.GET, path, token: token, pause: pause, allowNotFound: true, maxBytes: maxBytes)
        } catch GraphError.tooLarge {
            return .tooLarge
        }
        guard response.status != 404 else { return .notFound }
        guard let values = Self.object(response.body)?["value"] as? [[String: Any]] else {
            throw GraphError.protocolError("the attachment list is not a JSON object with a value array")
        }
        return .fetched(values.map(GraphAttachment.init))
    }

    /// A collection's members over every `@odata.nextLink` page.
    /// nil when the first page is 404 and `allowNotFound`.
    private func collection(_ path: String, what: String, allowNotFound: Bool = false) async throws -> [[String: Any]]? {
        var members: [[String: Any]] = []
        var link: String? = path
        var pages = 0
        while let current = link, pages < Self.maxPages {
            pages += 1
            let response = try await client.call(.GET, current, token: token, pause: pause, allowNotFound: allowNotFound && pages == 1)
            if response.status == 404 { return nil }
            guard let object = Self.object(response.body), let values = object["value"] as? [[String: Any]] else {
                throw GraphError.protocolError("the \(what) is not a JSON object with a value array")
            }
            members += values
            link = object["@odata.nextLink"] as? String
        }
        return members
    }

    static func object(_ body: [UInt8]) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }

    static func identity(_ object: [String: Any]) -> Identity? {
        guard let id = object["id"] as? String else { return nil }
        return Identity(id: id, displayName: object["displayName"] as? String ?? "", mail: object["mail"] as? String)
    }

    /// A query value percent-encoded (RFC 3986 section 3.4): unreserved characters kept.
    static func queryValue(_ text: String) -> String {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~@")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// A conversation thread of a group (Graph's `conversationThread`): what reading needs.
public struct GraphThread: Sendable, Equatable {
    public var id: String
    public var topic: String
    /// `lastDeliveredDateTime` as Graph wrote it: it changes when a post arrives, and is
    /// kept as the thread's checkpoint.
    public var lastDelivered: String
    public var lastDeliveredAt: Date?

    public init(id: String, topic: String, lastDelivered: String) {
        self.id = id
        self.topic = topic
        self.lastDelivered = lastDelivered
        self.lastDeliveredAt = GraphDate.parse(lastDelivered)
    }

    init?(_ object: [String: Any]) {
        guard let id = object["id"] as? String, !id.isEmpty else { return nil }
        self.init(id: id, topic: object["topic"] as? String ?? "", lastDelivered: object["lastDeliveredDateTime"] as? String ?? "")
    }
}

/// A recipient of Graph's shape, `{"emailAddress": {"name", "address"}}`.
public struct GraphRecipient: Sendable, Equatable {
    public var name: String
    public var address: String

    public init(name: String, address: String) {
        self.name = name
        self.address = address
    }

    init?(_ value: Any?) {
        guard let object = value as? [String: Any], let email = object["emailAddress"] as? [String: Any],
              let address = email["address"] as? String, !address.isEmpty else { return nil }
        self.init(name: email["name"] as? String ?? "", address: address)
    }
}

/// A post of a conversation thread (Graph's `post`): its id, author, time, body and new
/// participants. Graph gives a post no Internet Message-ID and no header fields.
public struct GraphPost: Sendable, Equatable {
    public var id: String
    public var from: GraphRecipient?
    public var sender: GraphRecipient?
    public var receivedAt: Date?
    /// `body.contentType`: `html` or `text`.
    public var isHTML: Bool
    public var body: String
    public var newParticipants: [GraphRecipient]
    public var hasAttachments: Bool

    public init(id: String, from: GraphRecipient?, sender: GraphRecipient?, receivedAt: Date?, isHTML: Bool, body: String,
                newParticipants: [GraphRecipient] = [], hasAttachments: Bool = false) {
        self.id = id
        self.from = from
        self.sender = sender
        self.receivedAt = receivedAt
        self.isHTML = isHTML
        self.body = body
        self.newParticipants = newParticipants
        self.hasAttachments = hasAttachments
    }

    init?(_ object: [String: Any]) {
        guard let id = object["id"] as? String, !id.isEmpty else { return nil }
        let body = object["body"] as? [String: Any]
        self.init(
            id: id, from: GraphRecipient(object["from"]), sender: GraphRecipient(object["sender"]),
            receivedAt: (object["receivedDateTime"] as? String).flatMap(GraphDate.parse),
            isHTML: (body?["contentType"] as? String)?.lowercased() == "html", body: body?["content"] as? String ?? "",
            newParticipants: (object["newParticipants"] as? [Any] ?? []).compactMap(GraphRecipient.init),
            hasAttachments: object["hasAttachments"] as? Bool ?? false)
    }
}

/// An attachment of a post. Only a `fileAttachment` carries its bytes (`contentBytes`,
/// base64); an item or reference attachment is named but has no content here.
public struct GraphAttachment: Sendable, Equatable {
    public var name: String
    public var contentType: String
    public var isInline: Bool
    public var contentID: String?
    /// The file's bytes; nil for an attachment that is not a file.
    public var content: [UInt8]?

    public init(name: String, contentType: String, isInline: Bool = false, contentID: String? = nil, content: [UInt8]?) {
        self.name = name
        self.contentType = contentType
        self.isInline = isInline
        self.contentID = contentID
        self.content = content
    }

    init(_ object: [String: Any]) {
        let isFile = (object["@odata.type"] as? String)?.lowercased() == "#microsoft.graph.fileattachment"
        let bytes = isFile ? (object["contentBytes"] as? String).flatMap { Data(base64Encoded: $0) }.map { [UInt8]($0) } : nil
        self.init(name: object["name"] as? String ?? "", contentType: object["contentType"] as? String ?? "application/octet-stream",
                  isInline: object["isInline"] as? Bool ?? false, contentID: object["contentId"] as? String,
                  content: isFile ? (bytes ?? []) : nil)
    }
}
