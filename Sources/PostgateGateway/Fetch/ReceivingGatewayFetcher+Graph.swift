import Foundation
import NIOCore
import PostgateConnectors
import PostgateDirectory
import PostgateIndex

/// The Microsoft Graph side of a receiving gateway.
///
/// Each mapped folder is read with its delta query (`…/mailFolders/{id}/messages/delta`),
/// page by page. A message is named for good by its immutable id; its MIME (`$value`) goes
/// through the inbound pipeline as a fetched IMAP message does, and its checkpoint, committed
/// with it, carries where the folder's delta query resumes: the page it was listed on, or for
/// the last message of a round, the round's `@odata.deltaLink`. So a crash never skips a
/// message (the page is read again, and ids in the ledger are not imported twice) nor stores
/// one twice. An expired link (`410 Gone`, `syncStateNotFound`) reads the folder again from
/// the start, against the same ledger.
///
/// After a message is stored, the configured action (mark read, move) is applied on the
/// server; a message whose action was interrupted is caught up at the next pass.
extension ReceivingGatewayFetcher {
    /// Entries asked for per delta page (Graph may send fewer).
    static let graphPageSize = 50

    func runGraphPass() async throws -> PassReport {
        let settings = gateway.settings
        if settings.group != nil { return try await runGraphGroupPass() }
        let mailbox = graphMailbox()
        let folders: [GraphFolder]
        if settings.syncAllFolders {
            var named: [GraphFolder] = []
            for name in settings.folders { named.append(try await mailbox.folder(named: name)) }
            let all = try await mailbox.allFolders()
            folders = all + named.filter { folder in !all.contains { $0.id == folder.id } }
        } else {
            var named: [GraphFolder] = []
            for name in settings.folders { named.append(try await mailbox.folder(named: name)) }
            folders = named
        }
        let target = settings.afterFetch == .move ? try await mailbox.folder(named: settings.moveToFolder ?? "") : nil
        var report = PassReport()
        for folder in folders where folder.id != target?.id {
            try await limiter.run {
                try await self.catchUpActions(folder, mailbox: mailbox, target: target)
                report.add(try await self.syncGraphFolder(folder, mailbox: mailbox, target: target))
            }
        }
        return report
    }

    func graphMailbox() -> GraphMailbox {
        Self.graphMailbox(of: gateway, credentials: credentials)
    }

    /// A gateway's mailbox, its access tokens from the credentials (a new one after Graph
    /// refused the last).
    static func graphMailbox(of gateway: ReceivingGateway, credentials: any GatewayCredentialSource) -> GraphMailbox {
        GraphMailbox(client: credentials.graphClient(for: gateway.settings.connection), user: gateway.settings.username,
                     token: graphToken(of: gateway, credentials: credentials))
    }

    /// A gateway's group (`FetchSettings.group`), its tokens from the credentials.
    static func graphGroup(of gateway: ReceivingGateway, credentials: any GatewayCredentialSource) -> GraphGroup {
        GraphGroup(client: credentials.graphClient(for: gateway.settings.connection), group: gateway.settings.group ?? "",
                   token: graphToken(of: gateway, credentials: credentials))
    }

    /// Access tokens from the credentials; a new one after Graph refused the last.
    private static func graphToken(of gateway: ReceivingGateway, credentials: any GatewayCredentialSource) -> GraphFolderReader.TokenProvider {
        { renewing in
            if renewing { await credentials.attemptFailed(gateway) }
            guard case .bearer(let token, _) = try await credentials.credential(for: gateway) else {
                throw FetchError("a Graph gateway authenticates with OAuth 2.0, not a password")
            }
            return token
        }
    }

    /// One round of a folder's delta query.
    private func syncGraphFolder(_ folder: GraphFolder, mailbox: GraphMailbox, target: GraphFolder?) async throws -> PassReport {
        let settings = gateway.settings
        let (gatewayID, key) = (gateway.id, folder.path)
        let stored = try await onThreadPool { try self.store.deltaLink(gatewayID: gatewayID, folder: key) }
        var known = try await onThreadPool { try self.store.fetchedRemoteIDs(gatewayID: gatewayID, folder: key) }
        let start = settings.syncStartDate.flatMap { Self.day($0, timeZone: settings.timeZone) }
        let actionPending = settings.afterFetch != .leave
        let reader = GraphFolderReader(client: mailbox.client, pageSize: Self.graphPageSize, token: mailbox.token)
        var report = PassReport()
        _ = try await reader.round(initialPath: mailbox.deltaPath(folder), storedLink: stored, resync: {
            // The ledger stays: what was fetched before is recognised by its id.
            self.logger.notice("the folder's delta link expired; reading it again from the start", metadata: ["folder": "\(key)"])
        }, importPage: { page, link in
            let removed = Set(page.entries.filter(\.removed).map(\.id))
            if !removed.isEmpty {
                try await self.onThreadPool { try self.store.forgetRemoteIDs(removed, gatewayID: gatewayID, folder: key) }
                for id in removed { known[id] = nil }
            }
            var seen: Set<String> = []
            let wanted = page.entries.filter { entry in
                guard !entry.removed, known[entry.id] == nil, seen.insert(entry.id).inserted else { return false }
                if let start, let received = entry.receivedAt, received < start { return false }
                return true
            }
            // Up to `graphConcurrency` messages are fetched and committed at once (Graph
            // serves a mailbox at most four requests at a time); the round's delta link goes
            // with the page's last message, fetched and committed after every other.
            let carrier = page.deltaLink != nil ? wanted.last : nil
            let others = carrier == nil ? wanted : Array(wanted.dropLast())
            var committed: [String] = []
            func record(_ id: String, _ outcome: GraphImportOutcome) {
                switch outcome {
                case .stored:
                    known[id] = .stored
                    committed.append(id)
                    report.stored += 1
                case .skipped:
                    known[id] = .skipped
                    report.skipped += 1
                }
            }
            try await withThrowingTaskGroup(of: (String, GraphImportOutcome).self) { group in
                var pending = others.makeIterator()
                for _ in 0..<Self.graphConcurrency {
                    guard let entry = pending.next() else { break }
                    group.addTask { (entry.id, try await self.importGraphMessage(entry.id, folder: key, link: link, mailbox: mailbox)) }
                }
                while let (id, outcome) = try await group.next() {
                    record(id, outcome)
                    if let entry = pending.next() {
                        group.addTask { (entry.id, try await self.importGraphMessage(entry.id, folder: key, link: link, mailbox: mailbox)) }
                    }
                }
            }
            if let carrier, let delta = page.deltaLink {
                record(carrier.id, try await importGraphMessage(carrier.id, folder: key, link: delta, mailbox: mailbox))
            }
            if wanted.isEmpty, let delta = page.deltaLink {
                try await self.onThreadPool { try self.store.setDeltaLink(delta, gatewayID: gatewayID, folder: key) }
            }
            if actionPending { try await self.applyActions(committed, folder: folder, mailbox: mailbox, target: target) }
        })
        return report
    }

    /// Messages of one folder fetched and committed at once: Graph allows a mailbox four
    /// concurrent requests.
    static let graphConcurrency = 4

    enum GraphImportOutcome: Sendable {
        case stored
        case skipped
    }

    /// Fetches one message's MIME and stores it with its checkpoint (which resumes the
    /// folder at `link`); a message too large, or gone since the delta listed it, is
    /// recorded as skipped with the reason.
    private func importGraphMessage(_ id: String, folder key: String, link: String, mailbox: GraphMailbox) async throws -> GraphImportOutcome {
        let settings = gateway.settings
        let checkpoint = FetchCheckpoint(
            gatewayID: gateway.id, folder: key, position: .graph(messageID: id, link: link, actionPending: settings.afterFetch != .leave))
        var outcome = GraphValueOutcome.fetched
        let message = try await fetchForImport(checkpoint: checkpoint, protocolName: "Graph") { sink in
            outcome = try await mailbox.fetchMIME(id, maxSize: settings.maxMessageBytes, into: sink)
            return outcome == .fetched
        }
        switch outcome {
        case .fetched:
            guard let message else { return .skipped }
            try await message.commit()
            return .stored
        case .tooLarge(let size):
            try await skip(checkpoint, reason: "message of \(size) bytes is over the limit of \(settings.maxMessageBytes)")
            return .skipped
        case .notFound, .failed:
            try await skip(checkpoint, reason: "the message was gone from the server (HTTP 404) before it was fetched")
            return .skipped
        }
    }

    /// Applies the after-fetch action to messages stored here, then records it done.
    private func applyActions(_ ids: [String], folder: GraphFolder, mailbox: GraphMailbox, target: GraphFolder?) async throws {
        guard !ids.isEmpty else { return }
        let (gatewayID, key) = (gateway.id, folder.path)
        var done: [String] = []
        do {
            for id in ids {
                // A message gone from the server (404) needs nothing more.
                if let target {
                    _ = try await mailbox.move(id, to: target)
                } else {
                    _ = try await mailbox.markRead(id)
                }
                done.append(id)
            }
        } catch {
            let finished = done
            try? await onThreadPool { try self.store.actionsDone(finished, gatewayID: gatewayID, folder: key) }
            throw error
        }
        let finished = done
        try await onThreadPool { try self.store.actionsDone(finished, gatewayID: gatewayID, folder: key) }
    }

    /// The actions an earlier pass left undone (it stopped between storing and acting).
    private func catchUpActions(_ folder: GraphFolder, mailbox: GraphMailbox, target: GraphFolder?) async throws {
        let (gatewayID, key) = (gateway.id, folder.path)
        while true {
            let pending = try await onThreadPool { try self.store.pendingActions(gatewayID: gatewayID, folder: key, limit: 200) }
            guard !pending.isEmpty else { return }
            if gateway.settings.afterFetch == .leave {
                try await onThreadPool { try self.store.actionsDone(pending, gatewayID: gatewayID, folder: key) }
                continue
            }
            try await applyActions(pending, folder: folder, mailbox: mailbox, target: target)
        }
    }
}
