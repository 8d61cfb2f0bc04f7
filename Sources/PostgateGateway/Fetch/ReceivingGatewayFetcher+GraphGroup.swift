import Foundation
import NIOCore
import PostgateConnectors
import PostgateIndex

/// The Microsoft 365 group side of a Graph receiving gateway: the group's conversation
/// threads, and each new post written as a message (`GraphPostMessage`) that goes through
/// the inbound pipeline as fetched mail does.
///
/// Exactly once: a post is named for good by its id. Its checkpoint, committed with it,
/// records the id in the ledger under its thread, and for the thread's last new post also
/// the thread's `lastDeliveredDateTime` (in the resume points, as a folder's delta link is).
/// A pass reads the posts only of threads whose `lastDeliveredDateTime` differs from the
/// one recorded, and stores only posts whose ids the ledger does not hold; so a crash
/// between two posts reads the thread again and stores the rest, never one twice.
extension ReceivingGatewayFetcher {
    /// The ledger's folder of a thread: its posts' ids and its checkpoint.
    static func threadKey(_ threadID: String) -> String { "thread/" + threadID }

    func runGraphGroupPass() async throws -> PassReport {
        let settings = gateway.settings
        let group = Self.graphGroup(of: gateway, credentials: credentials)
        let identity = try await group.identity()
        let threads = try await group.threads(groupID: identity.id)
        let gatewayID = gateway.id
        let marks = try await onThreadPool { try self.store.deltaLinks(gatewayID: gatewayID) }
        let start = settings.syncStartDate.flatMap { Self.day($0, timeZone: settings.timeZone) }
        let to = GraphRecipient(name: identity.displayName, address: identity.mail ?? gateway.address.canonical)
        var report = PassReport()
        for thread in threads {
            let mark = marks[Self.threadKey(thread.id)]
            // An unchanged thread has no new post; one without a time is always read.
            if !thread.lastDelivered.isEmpty, mark == thread.lastDelivered { continue }
            if let start, let last = thread.lastDeliveredAt, last < start { continue }
            try await limiter.run {
                report.add(try await self.syncGroupThread(thread, group: group, groupID: identity.id, mark: mark, to: to, start: start))
            }
        }
        return report
    }

    /// Stores a thread's new posts, oldest first, each with its checkpoint.
    private func syncGroupThread(_ thread: GraphThread, group: GraphGroup, groupID: String, mark: String?, to: GraphRecipient,
                                 start: Date?) async throws -> PassReport {
        let (gatewayID, key) = (gateway.id, Self.threadKey(thread.id))
        guard let posts = try await group.posts(groupID: groupID, threadID: thread.id) else {
            logger.notice("a group thread was gone before its posts were read", metadata: ["thread": "\(thread.id)"])
            return PassReport()
        }
        let known = try await onThreadPool { try self.store.fetchedRemoteIDs(gatewayID: gatewayID, folder: key) }
        let wanted = posts.indices.filter { index in
            let post = posts[index]
            guard known[post.id] == nil else { return false }
            if let start, let received = post.receivedAt, received < start { return false }
            return true
        }
        var report = PassReport()
        for index in wanted {
            // The thread's checkpoint moves on with its last new post; the others keep the
            // old one, so a pass stopped between them reads the thread again.
            let link = index == wanted.last && !thread.lastDelivered.isEmpty ? thread.lastDelivered : (mark ?? "")
            let checkpoint = FetchCheckpoint(gatewayID: gatewayID, folder: key, position: .graph(messageID: posts[index].id, link: link, actionPending: false))
            if try await importGraphPost(posts[index], thread: thread, earlier: posts[..<index].map(\.id), group: group, groupID: groupID,
                                         to: to, checkpoint: checkpoint) {
                report.stored += 1
            } else {
                report.skipped += 1
            }
        }
        if wanted.isEmpty, !thread.lastDelivered.isEmpty {
            try await onThreadPool { try self.store.setDeltaLink(thread.lastDelivered, gatewayID: gatewayID, folder: key) }
        }
        return report
    }

    /// Writes one post as a message and stores it with its checkpoint; a post too large,
    /// gone, or without a valid author is recorded as skipped with the reason. True when stored.
    private func importGraphPost(_ post: GraphPost, thread: GraphThread, earlier: [String], group: GraphGroup, groupID: String,
                                 to: GraphRecipient, checkpoint: FetchCheckpoint) async throws -> Bool {
        let limit = gateway.settings.maxMessageBytes
        var attachments: [GraphAttachment] = []
        if post.hasAttachments {
            // Base64 in JSON: four characters for three bytes, and room for the names.
            switch try await group.attachments(groupID: groupID, threadID: thread.id, postID: post.id, maxBytes: limit / 3 * 4 + 64 * 1024) {
            case .fetched(let files): attachments = files
            case .tooLarge:
                try await skip(checkpoint, reason: "the post's attachments are over the limit of \(limit) bytes")
                return false
            case .notFound:
                try await skip(checkpoint, reason: "the post was gone from the server (HTTP 404) before it was fetched")
                return false
            }
        }
        guard let message = GraphPostMessage.compose(post, topic: thread.topic, earlier: earlier, to: to,
                                                     domain: gateway.address.domain.ascii, attachments: attachments) else {
            try await skip(checkpoint, reason: "the post names no valid sender address")
            return false
        }
        guard message.count <= limit else {
            try await skip(checkpoint, reason: "message of \(message.count) bytes is over the limit of \(limit)")
            return false
        }
        return try await importMessage(checkpoint: checkpoint, protocolName: "Graph") { sink in
            try await sink(ByteBuffer(bytes: message))
            return true
        }
    }
}
