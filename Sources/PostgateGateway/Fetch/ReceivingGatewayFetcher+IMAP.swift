import Foundation
import NIOCore
import PostgateConnectors
import PostgateDirectory
import PostgateIndex

/// The IMAP side of a receiving gateway (RFC 9051, RFC 3501).
///
/// Each mapped folder is synchronised in UID order from its checkpoint: a message is named
/// for good by the folder's UIDVALIDITY and its UID (section 2.3.1.1), so the checkpoint is
/// that pair, committed with the message. A new UIDVALIDITY starts the folder over; what
/// was imported before is recognised by Message-ID and content, and not stored twice.
///
/// With IDLE (RFC 2177) the connection stays open after a round and waits on the first
/// folder for new mail, for at most the poll interval (so the other folders are polled at
/// that interval); without it, the connection closes and the schedule polls.
extension ReceivingGatewayFetcher {
    func runIMAPPass(credential: GatewayCredential, synced: @Sendable (PassReport) async -> Void) async throws -> PassReport {
        let settings = gateway.settings
        let timeout = Double(settings.connectionTimeoutMS) / 1000
        let configuration = IMAPConfiguration(
            host: settings.host, address: nil, port: settings.port, tls: settings.tls.connectorMode,
            caCertificateFile: settings.caFile, allowPlaintextAuthentication: settings.allowPlaintext,
            connectTimeout: timeout, responseTimeout: timeout)
        let client = IMAPClient(configuration: configuration, group: eventLoopGroup, logger: logger)
        let user = settings.username
        return try await client.connect { session in
            try await session.authenticate(credential.imap(user: user))
            let folders = try await folders(session)
            var total = PassReport()
            while true {
                let round = try await limiter.run {
                    var round = PassReport()
                    for folder in folders { round.add(try await self.sync(folder, session: session)) }
                    return round
                }
                total.add(round)
                let idles = settings.useIdle && session.capabilities.contains("IDLE") && !folders.isEmpty
                guard idles, !Task.isCancelled else { break }
                await synced(round)
                // Wait on the first folder; any change there, or the poll interval, starts a round.
                _ = try await session.select(folders[0])
                _ = try await session.idle(timeout: TimeInterval(settings.pollIntervalSeconds))
            }
            try await session.logout()
            return total
        }
    }

    /// The folders to synchronise: those named, or with `syncAllFolders` every selectable
    /// folder except Trash and Junk (RFC 6154 `\Trash`, `\Junk`, or so named) unless named.
    func folders(_ session: IMAPSession) async throws -> [String] {
        let settings = gateway.settings
        guard settings.syncAllFolders else { return settings.folders }
        let named = Set(settings.folders.map { $0.uppercased() })
        let excludedNames: Set<String> = ["TRASH", "JUNK", "SPAM", "DELETED ITEMS", "JUNK E-MAIL"]
        var result: [String] = []
        for mailbox in try await session.list() where mailbox.isSelectable {
            let excluded = mailbox.specialUse == .trash || mailbox.specialUse == .junk
                || excludedNames.contains(mailbox.displayName.uppercased())
            if excluded && !named.contains(mailbox.name.uppercased()) { continue }
            result.append(mailbox.name)
        }
        // INBOX first: the folder waited on with IDLE.
        return result.sorted { ($0.uppercased() == "INBOX" ? 0 : 1, $0) < ($1.uppercased() == "INBOX" ? 0 : 1, $1) }
    }

    /// Messages of one folder committing at once: their commits share the store's group
    /// commits while the next message is fetched.
    static let commitsInFlight = 8

    /// One folder from its checkpoint on. Messages are fetched one after another and
    /// committed up to `commitsInFlight` at a time, each with its own checkpoint row; the
    /// folder's safe UID only passes a message once it and every earlier one are in.
    func sync(_ folder: String, session: IMAPSession) async throws -> PassReport {
        let settings = gateway.settings
        let gatewayID = gateway.id
        let status = settings.afterFetch == .leave ? try await session.examine(folder) : try await session.select(folder)
        let validity = status.uidValidity
        var safe: UInt32 = 0
        let checkpoint = try await onThreadPool { try self.store.folderCheckpoint(gatewayID: gatewayID, folder: folder) }
        if let checkpoint, checkpoint.uidValidity == validity {
            safe = checkpoint.safeUID
        } else {
            if let checkpoint {
                logger.notice("folder's UIDVALIDITY changed: fetching it again, duplicates are recognised", metadata: [
                    "folder": "\(folder)", "was": "\(checkpoint.uidValidity)", "now": "\(validity)",
                ])
            }
            try await onThreadPool { try self.store.resetFolder(gatewayID: gatewayID, folder: folder, uidValidity: validity) }
        }
        var report = PassReport()
        if let checkpoint, checkpoint.uidValidity == validity, checkpoint.lastUID > checkpoint.actedUID, settings.afterFetch != .leave {
            try await applyAfterFetch(toEarlier: (checkpoint.actedUID + 1)...checkpoint.lastUID, folder: folder, validity: validity, session: session)
        }
        guard status.exists > 0 else {
            try await advanceActed(folder: folder, validity: validity, checkpoint: checkpoint, to: safe)
            return report
        }
        let floor = safe
        var already: Set<UInt32> = []
        if floor < .max {
            already = try await onThreadPool {
                try self.store.fetchedUIDs(gatewayID: gatewayID, folder: folder, uidValidity: validity, in: (floor + 1)...UInt32.max)
            }
        }
        var keys: [IMAPSearchKey] = [.uid(.from(safe + 1))]
        if let start = settings.syncStartDate.flatMap({ Self.day($0, timeZone: settings.timeZone) }) { keys.append(.since(start)) }
        let uids = try await session.uidSearch(keys).filter { $0 > safe && !already.contains($0) }.sorted()
        var window = UIDWindow(order: uids, safe: safe)
        var inFlight: [(uid: UInt32, commit: Task<Void, any Error>)] = []
        var done: [UInt32] = []
        do {
            for uid in uids {
                try Task.checkCancellation()
                let position = FetchCheckpoint(gatewayID: gatewayID, folder: folder,
                                               position: .imap(uidValidity: validity, uid: uid, safeUID: window.safe))
                var outcome = IMAPFetchOutcome.notFound
                let message = try await fetchForImport(checkpoint: position, protocolName: "IMAP") { sink in
                    outcome = try await session.fetchMessage(uid: uid, maxSize: settings.maxMessageBytes, into: sink)
                    if case .fetched = outcome { return true }
                    return false
                }
                if let message {
                    inFlight.append((uid, Task { try await message.commit() }))
                    report.stored += 1
                } else {
                    switch outcome {
                    case .tooLarge(let size):
                        try await skip(position, reason: "message of \(size) bytes is over the limit of \(settings.maxMessageBytes)")
                    default:
                        try await skip(position, reason: "the server no longer has it (expunged before it could be fetched)")
                    }
                    report.skipped += 1
                    window.complete(uid)
                }
                while inFlight.count >= Self.commitsInFlight {
                    let first = inFlight.removeFirst()
                    try await first.commit.value
                    window.complete(first.uid)
                    done.append(first.uid)
                }
            }
            while !inFlight.isEmpty {
                let first = inFlight.removeFirst()
                try await first.commit.value
                window.complete(first.uid)
                done.append(first.uid)
            }
        } catch {
            // What is committing finishes (each with its checkpoint); the safe UID stays
            // below the message that failed, which the next pass fetches again.
            for entry in inFlight { _ = try? await entry.commit.value }
            throw error
        }
        try await applyAfterFetch(done, folder: folder, session: session)
        try await advanceActed(folder: folder, validity: validity, checkpoint: checkpoint, to: window.safe)
        return report
    }

    /// Records that every message up to `uid` is in and had its after-fetch action (the
    /// catch-up and this pass's actions are done), unless the checkpoint says so already.
    private func advanceActed(folder: String, validity: UInt32, checkpoint: FolderCheckpoint?, to uid: UInt32) async throws {
        let gatewayID = gateway.id
        let known = checkpoint?.uidValidity == validity ? checkpoint : nil
        guard uid > 0, uid > (known?.safeUID ?? 0) || uid > (known?.actedUID ?? 0) else { return }
        try await onThreadPool {
            try self.store.advanceSafeUID(gatewayID: gatewayID, folder: folder, uidValidity: validity, to: uid)
        }
    }

    /// What `afterFetch` does to the fetched messages on the server: nothing, `\Seen`, or a move.
    private func applyAfterFetch(_ uids: [UInt32], folder: String, session: IMAPSession) async throws {
        guard !uids.isEmpty else { return }
        let settings = gateway.settings
        switch settings.afterFetch {
        case .leave: break
        case .markSeen: try await session.addFlags(["\\Seen"], uids: uids)
        case .move:
            guard let target = settings.moveToFolder, target != folder else { return }
            try await session.move(uids: uids, to: target)
        }
    }

    /// The action for messages imported in an earlier connection that ended before it was
    /// applied (the message is stored once its checkpoint commits; the action comes after).
    /// Only the UIDs in `range`, above the folder's acted UID, are looked at.
    private func applyAfterFetch(toEarlier range: ClosedRange<UInt32>, folder: String, validity: UInt32, session: IMAPSession) async throws {
        let gatewayID = gateway.id
        var keys: [IMAPSearchKey] = [.uid(.range(range))]
        if gateway.settings.afterFetch == .markSeen { keys.append(.unseen) }
        let remaining = try await session.uidSearch(keys)
        guard !remaining.isEmpty else { return }
        let imported = try await onThreadPool {
            try self.store.fetchedUIDs(gatewayID: gatewayID, folder: folder, uidValidity: validity, in: range, importedOnly: true)
        }
        try await applyAfterFetch(remaining.filter(imported.contains), folder: folder, session: session)
    }

    /// Midnight starting `YYYY-MM-DD` in `timeZone`.
    static func day(_ text: String, timeZone: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.date(from: text)
    }
}

extension ReceivingGatewayFetcher.PassReport {
    mutating func add(_ other: Self) {
        stored += other.stored
        skipped += other.skipped
    }
}

extension GatewayTLSMode {
    var connectorMode: ConnectorTLSMode {
        switch self {
        case .implicit: .implicit
        case .starttls: .startTLS
        case .none: .none
        }
    }
}

/// The UIDs of one pass in order, and how far every one of them is in: the safe UID.
struct UIDWindow {
    private let order: [UInt32]
    private var completed: Set<UInt32> = []
    private var next = 0
    private(set) var safe: UInt32

    init(order: [UInt32], safe: UInt32) {
        self.order = order
        self.safe = safe
    }

    mutating func complete(_ uid: UInt32) {
        completed.insert(uid)
        while next < order.count, completed.contains(order[next]) {
            safe = order[next]
            completed.remove(order[next])
            next += 1
        }
    }
}
