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
        let settings = gateway.settings
        let client = GraphClient(baseURL: settings.connection.effectiveGraphURL, httpClient: credentials.httpClient(trusting: settings.caFile),
                                 requestTimeout: .milliseconds(max(settings.connectionTimeoutMS, 60_000)))
        return GraphMailbox(client: client, user: settings.username, token: { renewing in
            if renewing { await credentials.attemptFailed(gateway) }
            guard case .bearer(let token, _) = try await credentials.credential(for: gateway) else {
                throw FetchError("a Graph gateway authenticates with OAuth 2.0, not a password")
            }
            return token
        })
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
            var inFlight: [(id: String, commit: Task<Void, any Error>)] = []
            var committed: [String] = []
            func settleAll() async throws {
                defer { inFlight = [] }
                var failure: (any Error)?
                for entry in inFlight {
                    do {
                        try await entry.commit.value
                        committed.append(entry.id)
                    } catch {
                        failure = failure ?? error
                    }
                }
                if let failure { throw failure }
            }
            do {
                for (index, entry) in wanted.enumerated() {
                    // The round's delta link goes with the last message, committed after
                    // every other of its page.
                    let carriesDelta = index == wanted.count - 1 && page.deltaLink != nil
                    if carriesDelta { try await settleAll() }
                    let checkpoint = FetchCheckpoint(
                        gatewayID: gatewayID, folder: key,
                        position: .graph(messageID: entry.id, link: carriesDelta ? page.deltaLink! : link, actionPending: actionPending))
                    var outcome = GraphValueOutcome.fetched
                    let message = try await self.fetchForImport(checkpoint: checkpoint, protocolName: "Graph") { sink in
                        outcome = try await mailbox.fetchMIME(entry.id, maxSize: settings.maxMessageBytes, into: sink)
                        return outcome == .fetched
                    }
                    switch outcome {
                    case .fetched:
                        if let message {
                            inFlight.append((entry.id, Task { try await message.commit() }))
                            known[entry.id] = .stored
                            report.stored += 1
                        }
                    case .tooLarge(let size):
                        try await self.skip(checkpoint, reason: "message of \(size) bytes is over the limit of \(settings.maxMessageBytes)")
                        known[entry.id] = .skipped
                        report.skipped += 1
                    case .notFound, .failed:
                        // Gone since the delta listed it (moved or deleted): recorded as
                        // skipped, with the reason, and passed over.
                        try await self.skip(checkpoint, reason: "the message was gone from the server (HTTP 404) before it was fetched")
                        known[entry.id] = .skipped
                        report.skipped += 1
                    }
                    if inFlight.count >= Self.commitsInFlight { try await settleAll() }
                }
                try await settleAll()
            } catch {
                for entry in inFlight { _ = try? await entry.commit.value }
                throw error
            }
            if wanted.isEmpty, let delta = page.deltaLink {
                try await self.onThreadPool { try self.store.setDeltaLink(delta, gatewayID: gatewayID, folder: key) }
            }
            if actionPending { try await self.applyActions(committed, folder: folder, mailbox: mailbox, target: target) }
        })
        return report
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
