import Foundation
import NIOCore
import NIOHTTP1

/// A mail folder of a Graph mailbox: its id, and the name it is known by here (a well-known
/// name such as `inbox`, or the display names from the top, joined with `/`).
public struct GraphFolder: Sendable, Equatable {
    public var id: String
    public var path: String

    public init(id: String, path: String) {
        self.id = id
        self.path = path
    }
}

/// One mailbox (`/users/{id | userPrincipalName}`) through Microsoft Graph: its folders,
/// each message's MIME, marking read, moving, and sending MIME. Every call follows
/// `GraphRetry` (a new token after a 401, `Retry-After` on 429 and 503).
public struct GraphMailbox: Sendable {
    public typealias TokenProvider = GraphFolderReader.TokenProvider

    /// Folder names Graph resolves itself, wherever a folder id may stand (mailFolder
    /// resource, `wellKnownName`).
    public static let wellKnownFolders: Set<String> = [
        "archive", "clutter", "conflicts", "conversationhistory", "deleteditems", "drafts", "inbox", "junkemail",
        "localfailures", "msgfolderroot", "outbox", "recoverableitemsdeletions", "scheduled", "searchfolders",
        "sentitems", "serverfailures", "syncissues",
    ]
    /// Folders "all folders" leaves out, as IMAP leaves out Trash and Junk (RFC 6154).
    public static let excludedFromAll: [String] = ["deleteditems", "junkemail"]

    public let client: GraphClient
    /// The user id or user principal name.
    public let user: String
    public let token: TokenProvider
    let pause: @Sendable (_ seconds: Int) async throws -> Void

    public init(client: GraphClient, user: String, token: @escaping TokenProvider,
                pause: @escaping @Sendable (_ seconds: Int) async throws -> Void = { try await Task.sleep(for: .seconds($0)) }) {
        self.client = client
        self.user = user
        self.token = token
        self.pause = pause
    }

    /// `/users/{user}`, the user as one percent-encoded path segment (RFC 3986 section 3.3).
    public var userPath: String { "/users/" + Self.segment(user) }

    static func segment(_ text: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#%")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// The first delta URL of a folder's messages, asking only for what fetching reads.
    public func deltaPath(_ folder: GraphFolder) -> String {
        "\(userPath)/mailFolders/\(Self.segment(folder.id))/messages/delta?$select=receivedDateTime"
    }

    /// A request with the retry rules; the answer is 2xx, or the 404 when `allowNotFound`.
    public func call(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json",
                     allowNotFound: Bool = false) async throws -> GraphResponse {
        try await client.call(method, path, token: token, pause: pause, body: body, contentType: contentType, allowNotFound: allowNotFound)
    }

    /// The mailbox's folder for a name: a well-known name (any case; `INBOX` is the Inbox),
    /// else a path of display names from the top (`Support/Escalations`).
    public func folder(named name: String) async throws -> GraphFolder {
        let lower = name.lowercased()
        if Self.wellKnownFolders.contains(lower) {
            let response = try await call(.GET, "\(userPath)/mailFolders/\(lower)?$select=id,displayName", allowNotFound: true)
            guard response.status != 404 else { throw GraphError.notFound("the mailbox \(user) has no folder \(lower)") }
            return GraphFolder(id: try Self.folderObject(response.body).id, path: lower)
        }
        var listPath = "\(userPath)/mailFolders"
        var walked: [String] = []
        var found: GraphFolder?
        for part in name.split(separator: "/", omittingEmptySubsequences: true).map(String.init) {
            let children = try await list(listPath)
            guard let match = children.first(where: { $0.displayName == part })
                    ?? children.first(where: { $0.displayName.lowercased() == part.lowercased() }) else {
                let parent = walked.isEmpty ? "the top of the mailbox" : walked.joined(separator: "/")
                throw GraphError.notFound("the mailbox \(user) has no folder \"\(part)\" in \(parent)")
            }
            walked.append(match.displayName)
            found = GraphFolder(id: match.id, path: walked.joined(separator: "/"))
            listPath = "\(userPath)/mailFolders/\(Self.segment(match.id))/childFolders"
        }
        guard let found else { throw GraphError.notFound("an empty folder name") }
        return found
    }

    /// Every folder of the mailbox, depth first, but Deleted Items and Junk Email and what
    /// is inside them; at most `limit`.
    public func allFolders(limit: Int = 1000) async throws -> [GraphFolder] {
        var excluded: Set<String> = []
        for name in Self.excludedFromAll {
            if let id = try? await folder(named: name).id { excluded.insert(id) }
        }
        var result: [GraphFolder] = []
        var pending: [(path: String, prefix: String)] = [("\(userPath)/mailFolders", "")]
        while let next = pending.popLast(), result.count < limit {
            for child in try await list(next.path) where !excluded.contains(child.id) {
                let path = next.prefix.isEmpty ? child.displayName : next.prefix + "/" + child.displayName
                result.append(GraphFolder(id: child.id, path: path))
                if child.childFolderCount > 0 {
                    pending.append(("\(userPath)/mailFolders/\(Self.segment(child.id))/childFolders", path))
                }
            }
        }
        return Array(result.prefix(limit))
    }

    struct FolderEntry {
        var id: String
        var displayName: String
        var childFolderCount: Int
    }

    /// A folder collection, every page (`@odata.nextLink`).
    func list(_ path: String) async throws -> [FolderEntry] {
        var entries: [FolderEntry] = []
        var link: String? = path + "?$top=100&$select=id,displayName,childFolderCount"
        var pages = 0
        while let current = link, pages < 100 {
            pages += 1
            let response = try await call(.GET, current)
            guard let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any],
                  let values = object["value"] as? [[String: Any]] else {
                throw GraphError.protocolError("the folder list is not a JSON object with a value array")
            }
            for value in values {
                guard let id = value["id"] as? String else { continue }
                entries.append(FolderEntry(id: id, displayName: value["displayName"] as? String ?? "",
                                           childFolderCount: value["childFolderCount"] as? Int ?? 0))
            }
            link = object["@odata.nextLink"] as? String
        }
        return entries
    }

    static func folderObject(_ body: [UInt8]) throws -> (id: String, displayName: String) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any], let id = object["id"] as? String else {
            throw GraphError.protocolError("the folder answer has no id")
        }
        return (id, object["displayName"] as? String ?? "")
    }

    /// Streams a message's MIME into `sink`, with the retry rules; a retry after a partial
    /// answer is the caller's to make (the sink has taken bytes), so only answers that sent
    /// nothing are retried here.
    public func fetchMIME(_ id: String, maxSize: Int, into sink: (ByteBuffer) async throws -> Void) async throws -> GraphValueOutcome {
        var retry = GraphRetry()
        var bearer = try await token(false)
        while true {
            try Task.checkCancellation()
            let outcome = try await client.fetchValue("\(userPath)/messages/\(Self.segment(id))/$value", token: bearer, maxSize: maxSize, into: sink)
            guard case .failed(let response) = outcome else { return outcome }
            switch retry.decide(status: response.status, retryAfter: response.retryAfter, body: response.body) {
            case .renewTokenAndRetry: bearer = try await token(true)
            case .wait(let seconds): try await pause(seconds)
            case .fail(let error): throw error
            }
        }
    }

    /// Marks a message read (`PATCH` with `isRead`); false when it is gone.
    public func markRead(_ id: String) async throws -> Bool {
        try await call(.PATCH, "\(userPath)/messages/\(Self.segment(id))", body: Array(#"{"isRead":true}"#.utf8), allowNotFound: true).status != 404
    }

    /// Moves a message to a folder (`POST …/move` with `destinationId`); false when it is gone.
    public func move(_ id: String, to folder: GraphFolder) async throws -> Bool {
        let body = try JSONSerialization.data(withJSONObject: ["destinationId": folder.id])
        return try await call(.POST, "\(userPath)/messages/\(Self.segment(id))/move", body: Array(body), allowNotFound: true).status != 404
    }

    /// Sends a MIME message (`POST /users/{id}/sendMail`, the message base64-encoded as
    /// `text/plain`); Graph answers 202 once it has taken the message, and keeps a copy in
    /// Sent Items. Recipients are those of the To, Cc and Bcc fields.
    public func sendMIME(_ message: [UInt8]) async throws {
        let encoded = Array(Data(message).base64EncodedString().utf8)
        _ = try await call(.POST, "\(userPath)/sendMail", body: encoded, contentType: "text/plain")
    }

    /// The Microsoft 365 groups the application can read (`groupTypes` has `Unified`): id,
    /// display name and mail address, every page.
    public func unifiedGroups(limit: Int = 5000) async throws -> [(id: String, displayName: String, mail: String?)] {
        var groups: [(id: String, displayName: String, mail: String?)] = []
        var link: String? = "/groups?$filter=groupTypes/any(c:c+eq+'Unified')&$select=id,displayName,mail&$top=100"
        while let current = link, groups.count < limit {
            let response = try await call(.GET, current)
            guard let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any],
                  let values = object["value"] as? [[String: Any]] else {
                throw GraphError.protocolError("the group list is not a JSON object with a value array")
            }
            for value in values {
                guard let id = value["id"] as? String else { continue }
                groups.append((id, value["displayName"] as? String ?? "", value["mail"] as? String))
            }
            link = object["@odata.nextLink"] as? String
        }
        return groups
    }
}
