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
            for id in ids {
                let checkpoint = FetchCheckpoint(gatewayID: gatewayID, folder: "", position: .pop3(uidl: id.uid))
                var outcome = fetched[id.uid]
                if outcome == nil {
                    let size = sizes[id.number] ?? 0
                    if size > settings.maxMessageBytes {
                        try await skip(checkpoint, reason: "message of \(size) bytes is over the limit of \(settings.maxMessageBytes)")
                        report.skipped += 1
                        outcome = .skipped
                    } else {
                        do {
                            try await importMessage(checkpoint: checkpoint, protocolName: "POP3") { sink in
                                try await session.retrieve(id.number, into: sink)
                                return true
                            }
                            report.stored += 1
                            outcome = .stored
                        } catch POP3Error.commandFailed(let text) {
                            // The server refuses this one message: record it and go on.
                            try await skip(checkpoint, reason: "the server could not send it: \(text)")
                            report.skipped += 1
                            outcome = .skipped
                        }
                    }
                }
                // A skipped message stays on the server, where the administrator can still reach it.
                if settings.deleteAfterDownload, outcome != .skipped { try await session.delete(id.number) }
            }
            try await session.quit()
            let gone = Set(fetched.keys).subtracting(ids.map(\.uid))
            try await onThreadPool { try self.store.forgetRemoteIDs(gone, gatewayID: gatewayID, folder: "") }
            return report
        }
    }
}
