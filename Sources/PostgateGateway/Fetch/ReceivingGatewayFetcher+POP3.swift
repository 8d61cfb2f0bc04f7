import Foundation
import NIOCore
import PostgateConnectors
import PostgateDirectory
import PostgateIndex

/// One POP3 pass (RFC 1939): every message whose UIDL is not yet fetched is stored with its
/// UIDL as checkpoint; with `deleteAfterDownload`, each fetched message is then marked
/// deleted, which QUIT commits. Ids no longer on the server are forgotten.
extension ReceivingGatewayFetcher {
    func runPOP3Pass(credential: GatewayCredential) async throws -> PassReport {
        let settings = gateway.settings
        let configuration = POP3Configuration(
            host: settings.host, address: nil, port: settings.port, tls: settings.tls.connectorMode,
            caCertificateFile: settings.caFile, allowPlaintextAuthentication: settings.allowPlaintext,
            connectTimeout: Double(settings.connectionTimeoutMS) / 1000, responseTimeout: Double(settings.connectionTimeoutMS) / 1000)
        let client = POP3Client(configuration: configuration, group: eventLoopGroup, logger: logger)
        let gatewayID = gateway.id
        let user = settings.username
        return try await client.connect { session in
            try await session.authenticate(credential.pop3(user: user))
            let ids = try await session.uidl()
            let sizes = Dictionary(try await session.list().map { ($0.number, $0.size) }, uniquingKeysWith: { first, _ in first })
            let fetched = try await onThreadPool { try self.store.fetchedRemoteIDs(gatewayID: gatewayID, folder: "") }
            var report = PassReport()
            // UIDLs are a set, not a sequence: messages commit in any order, several at once
            // while the next is retrieved; each is marked deleted only once it is in.
            var inFlight: [(number: Int, commit: Task<Void, any Error>)] = []
            var deletions: [Int] = []
            func settleFirst() async throws {
                let first = inFlight.removeFirst()
                try await first.commit.value
                if settings.deleteAfterDownload { deletions.append(first.number) }
            }
            do {
                for id in ids {
                    let checkpoint = FetchCheckpoint(gatewayID: gatewayID, folder: "", position: .pop3(uidl: id.uid))
                    switch fetched[id.uid] {
                    case .stored?, .duplicate?:
                        if settings.deleteAfterDownload { deletions.append(id.number) }
                        continue
                    case .skipped?:
                        // A skipped message stays on the server, where the administrator can still reach it.
                        continue
                    case nil:
                        break
                    }
                    let size = sizes[id.number] ?? 0
                    if size > settings.maxMessageBytes {
                        try await skip(checkpoint, reason: "message of \(size) bytes is over the limit of \(settings.maxMessageBytes)")
                        report.skipped += 1
                        continue
                    }
                    do {
                        let message = try await fetchForImport(checkpoint: checkpoint, protocolName: "POP3") { sink in
                            try await session.retrieve(id.number, into: sink)
                            return true
                        }
                        if let message {
                            inFlight.append((id.number, Task { try await message.commit() }))
                            report.stored += 1
                        }
                    } catch POP3Error.commandFailed(let text) {
                        // The server refuses this one message: record it and go on.
                        try await skip(checkpoint, reason: "the server could not send it: \(text)")
                        report.skipped += 1
                    }
                    while inFlight.count >= Self.commitsInFlight { try await settleFirst() }
                }
                while !inFlight.isEmpty { try await settleFirst() }
            } catch {
                for entry in inFlight { _ = try? await entry.commit.value }
                throw error
            }
            // RFC 1939 section 6: the deletions take effect with QUIT, after every commit.
            for number in deletions { try await session.delete(number) }
            try await session.quit()
            let gone = Set(fetched.keys).subtracting(ids.map(\.uid))
            try await onThreadPool { try self.store.forgetRemoteIDs(gone, gatewayID: gatewayID, folder: "") }
            return report
        }
    }
}
