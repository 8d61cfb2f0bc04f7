import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgateBlocking
import PostgateStore

/// Keeps one fetcher task per published receiving gateway: every `reloadInterval` it reads
/// the published gateways and starts the new ones, restarts those whose settings changed
/// (a publication), and stops those removed. All fetchers share the event loops and one
/// `FetchLimiter`.
final class ReceivingGatewaySupervisor: Sendable {
    let delivery: InboundDelivery
    let credentials: any GatewayCredentialSource
    let load: @Sendable () throws -> [ReceivingGateway]
    let eventLoopGroup: any EventLoopGroup
    let settings: GatewayConfiguration.ConnectorSettings
    let maxHeaderSize: Int
    let logger: Logger

    init(delivery: InboundDelivery, credentials: any GatewayCredentialSource,
         load: @escaping @Sendable () throws -> [ReceivingGateway], eventLoopGroup: any EventLoopGroup,
         settings: GatewayConfiguration.ConnectorSettings, maxHeaderSize: Int, logger: Logger) {
        self.delivery = delivery
        self.credentials = credentials
        self.load = load
        self.eventLoopGroup = eventLoopGroup
        self.settings = settings
        self.maxHeaderSize = maxHeaderSize
        self.logger = logger
    }

    /// Runs until cancelled; cancelling stops every fetcher (a message being imported is
    /// dropped uncommitted, and fetched again next time).
    func run() async {
        let limiter = FetchLimiter(limit: settings.maxConcurrentFetches)
        var running: [Int64: (gateway: ReceivingGateway, task: Task<Void, Never>)] = [:]
        defer { for entry in running.values { entry.task.cancel() } }
        while !Task.isCancelled {
            do {
                let load = self.load
                let published = try await delivery.threadPool.runToCompletion {
                    BlockingWork.assertAllowedHere("loading the receiving gateways")
                    return try load()
                }
                let wanted = Dictionary(published.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
                for (id, entry) in running where wanted[id] != entry.gateway {
                    entry.task.cancel()
                    running[id] = nil
                    logger.notice("receiving gateway stopped", metadata: ["gateway": "\(entry.gateway.address)"])
                }
                for (id, gateway) in wanted where running[id] == nil {
                    let fetcher = ReceivingGatewayFetcher(
                        gateway: gateway, delivery: delivery, credentials: credentials, eventLoopGroup: eventLoopGroup,
                        maxHeaderSize: maxHeaderSize, retryDelay: TimeInterval(settings.retryDelay), limiter: limiter, logger: logger)
                    let recheck = TimeInterval(settings.reloadInterval)
                    running[id] = (gateway, Task { await fetcher.run(recheck: recheck) })
                    logger.notice("receiving gateway started", metadata: [
                        "gateway": "\(gateway.address)", "protocol": "\(gateway.settings.kind.rawValue)", "host": "\(gateway.settings.host)",
                    ])
                }
            } catch {
                logger.error("cannot read the receiving gateways", metadata: ["error": "\(error)"])
            }
            guard (try? await Task.sleep(for: .seconds(settings.reloadInterval))) != nil else { break }
        }
        for entry in running.values {
            entry.task.cancel()
            await entry.task.value
        }
        running = [:]
    }
}
