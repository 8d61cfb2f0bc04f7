import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import NIOPosix
import PostgateGateway
import PostgateLogging
import PostgateMessage
import PostgateOutbound
import PostgateStore
import ServiceLifecycle
import PostgateMaildir

extension OutboundCommand {
    struct Flush: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make every deferred recipient due and deliver everything due now, then exit.",
            discussion: "Uses the next hop of --config (outbound.smarthost, tls, auth). Prints what is still pending."
        )

        @OptionGroup var options: StoreOptions

        func run() async throws {
            let (queue, worker, httpClient) = try makeWorker(options)
            try reportingFailure { () throws(OutboundQueueError) in _ = try queue.retry() }
            do { try await worker.runOnce() } catch {
                await httpClient.shutdown()
                fail("\(error)")
            }
            await httpClient.shutdown()
            let pending = try reportingFailure { () throws(StoreError) in try queue.messages(pendingOnly: true) }
            try options.print(["pending": pending.count]) { "\(pending.count) message\(pending.count == 1 ? "" : "s") still pending" }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the delivery worker in the foreground until SIGTERM or SIGINT.",
            discussion: "Delivers due messages as they come, retrying by the schedule of outbound.retry.",
            shouldDisplay: false
        )

        @OptionGroup var options: StoreOptions

        func run() async throws {
            LoggingSystem.bootstrap { _ in LogLineHandler(format: .logfmt, level: .info) }
            let (_, worker, httpClient) = try makeWorker(options)
            let group = ServiceGroup(configuration: .init(
                services: [worker], gracefulShutdownSignals: [.sigterm, .sigint], logger: Logger(label: "postgate")
            ))
            do { try await group.run() } catch {
                await httpClient.shutdown()
                fail("\(error)")
            }
            await httpClient.shutdown()
        }
    }

    struct Enqueue: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue the message on standard input (for tests; submission is the normal way in).",
            shouldDisplay: false
        )

        @Option(help: ArgumentHelp("envelope sender; empty for <>", valueName: "ADDRESS"))
        var from: String

        @Option(help: ArgumentHelp("a recipient; repeat for several", valueName: "ADDRESS"))
        var to: [String] = []

        @OptionGroup var options: StoreOptions

        func run() throws {
            let sender = from.isEmpty ? nil : parseAddress(from)
            let recipients = to.map(parseAddress)
            let queue = try options.openOutboundQueue()
            let record = try reportingFailure { () throws(OutboundQueueError) in
                try queue.enqueue(sender: sender, recipients: recipients, readingFrom: 0)
            }
            try options.print(record) { "queued outbound message \(record.id) for \(record.recipients.count) recipient(s)" }
        }
    }
}

/// The queue and a worker for the next hop of the configuration (notifications into the
/// sender's mailbox, and the addresses' sending gateways, as under `postgate serve`), or exit
/// with the reason; the HTTP client for token requests is the caller's to shut down.
private func makeWorker(_ options: StoreOptions) throws -> (OutboundQueue, DeliveryWorker, HTTPClients) {
    let configuration = options.gatewayConfiguration()
    let store = try options.openStore()
    let logger = Logger(label: "postgate.outbound")
    do {
        var worker = try Gateway.makeDeliveryWorker(configuration: configuration, store: store, group: MultiThreadedEventLoopGroup.singleton,
                                                    threadPool: NIOThreadPool.singleton, logger: logger)
        let httpClient = Gateway.makeHTTPClient(group: MultiThreadedEventLoopGroup.singleton)
        let credentials = Gateway.makeCredentials(configuration: configuration, store: store, httpClient: httpClient,
                                                  threadPool: NIOThreadPool.singleton, logger: logger)
        worker.senderRoutes = Gateway.senderRoutes(store: store, credentials: credentials, threadPool: NIOThreadPool.singleton)
        return (worker.queue, worker, HTTPClients(shared: httpClient, credentials: credentials))
    } catch {
        fail("\(error)")
    }
}

/// The HTTP clients of a delivery worker's sending gateways, shut down together.
private struct HTTPClients {
    let shared: HTTPClient
    let credentials: GatewayCredentials

    func shutdown() async {
        await credentials.shutdown()
        try? await shared.shutdown()
    }
}
