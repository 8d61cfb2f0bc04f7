import CoreMetrics
import Foundation
import PostgateBlocking
import PostgateDirectory
import PostgateIndex
import PostgateMaildir
import PostgateMetrics
import PostgateOutbound
import PostgateStore

/// `/metrics`: what is counted as it happens (sessions, transactions, commands, attempts)
/// and what is read when scraped (the queue's depth, the connectors' states, the data
/// directory's free space).
extension Gateway {
    /// The gauges read when scraped.
    struct ScrapedGauges: Sendable {
        let queue: OutboundQueueGauges
        let freeBytes: CoreMetrics.Gauge
        let capacityBytes: CoreMetrics.Gauge
        /// Connectors by direction and state (`Gateway.connectorState`), every pair from the start.
        let connectors: [String: CoreMetrics.Gauge]

        init(factory: any MetricsFactory) {
            queue = OutboundQueueGauges(factory: factory)
            freeBytes = Gauge(label: MetricName.storeFreeBytes, factory: factory)
            capacityBytes = Gauge(label: MetricName.storeCapacityBytes, factory: factory)
            let states: [(GatewayDirection, [String])] = [
                (.receiving, ["draft", "not_started"] + GatewayLiveState.State.allCases.map(\.rawValue)),
                (.sending, ["draft", "active"]),
            ]
            var connectors: [String: CoreMetrics.Gauge] = [:]
            for (direction, names) in states {
                for state in names {
                    connectors[direction.rawValue + "/" + state] = Gauge(
                        label: MetricName.connectors, dimensions: [("direction", direction.rawValue), ("state", state)], factory: factory)
                }
            }
            self.connectors = connectors
        }

        /// Sets the connector gauges from `listings` (pairs without a connector to 0).
        func update(connectors listings: [GatewayListing]) {
            var counts: [String: Int] = [:]
            for listing in listings { counts[listing.direction.rawValue + "/" + Gateway.connectorState(listing), default: 0] += 1 }
            for (key, gauge) in connectors { gauge.record(counts[key] ?? 0) }
        }
    }

    /// A connector's state as a label value: `draft` until published; a receiving one's last
    /// state from the fetch engine (`not_started` before its first attempt); `active` for a
    /// sending one.
    static func connectorState(_ listing: GatewayListing) -> String {
        guard listing.status == .active else { return "draft" }
        guard listing.direction == .receiving else { return "active" }
        return listing.state?.state.rawValue ?? "not_started"
    }

    /// The exposition `/metrics` answers: the scraped gauges are read on the thread pool
    /// (SQLite, statvfs), then every family is written out.
    func metricsScrape(store: MailStore, outbound: OutboundQueue) -> @Sendable () async -> [UInt8] {
        let (metrics, threadPool, dataDirectory, logger) = (self.metrics, self.threadPool, self.dataDirectory, self.logger)
        let gauges = ScrapedGauges(factory: metrics.factory)
        return {
            do {
                try await threadPool.runToCompletion {
                    BlockingWork.assertAllowedHere("reading the queue's depth, the connectors, the store's size and the free space for metrics")
                    gauges.queue.update(try outbound.backlog(), now: Date())
                    gauges.update(connectors: try store.gatewayListings())
                    if let space = FileSystem.freeSpace(dataDirectory) {
                        gauges.freeBytes.record(space.available)
                        gauges.capacityBytes.record(space.total)
                    }
                    try metrics.storeSize.refresh { try store.storeSize() }
                }
            } catch {
                // The counters are still worth having; the gauges keep their last values.
                logger.error("metrics: could not read the outbound queue, the connectors or the store's size", metadata: ["error": "\(error)"])
            }
            return metrics.exposition()
        }
    }
}
