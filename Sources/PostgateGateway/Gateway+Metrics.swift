import CoreMetrics
import Foundation
import PostgateBlocking
import PostgateMaildir
import PostgateMetrics
import PostgateOutbound

/// `/metrics`: what is counted as it happens (sessions, transactions, commands, attempts)
/// and what is read when scraped (the queue's depth, the data directory's free space).
extension Gateway {
    /// The gauges read when scraped.
    struct ScrapedGauges: Sendable {
        let queue: OutboundQueueGauges
        let freeBytes: CoreMetrics.Gauge
        let capacityBytes: CoreMetrics.Gauge

        init(factory: any MetricsFactory) {
            queue = OutboundQueueGauges(factory: factory)
            freeBytes = Gauge(label: MetricName.storeFreeBytes, factory: factory)
            capacityBytes = Gauge(label: MetricName.storeCapacityBytes, factory: factory)
        }
    }

    /// The exposition `/metrics` answers: the scraped gauges are read on the thread pool
    /// (SQLite, statvfs), then every family is written out.
    func metricsScrape(outbound: OutboundQueue) -> @Sendable () async -> [UInt8] {
        let (metrics, threadPool, dataDirectory, logger) = (self.metrics, self.threadPool, self.dataDirectory, self.logger)
        let gauges = ScrapedGauges(factory: metrics.factory)
        return {
            do {
                try await threadPool.runToCompletion {
                    BlockingWork.assertAllowedHere("reading the queue's depth and the free space for metrics")
                    gauges.queue.update(try outbound.backlog(), now: Date())
                    if let space = FileSystem.freeSpace(dataDirectory) {
                        gauges.freeBytes.record(space.available)
                        gauges.capacityBytes.record(space.total)
                    }
                }
            } catch {
                // The counters are still worth having; the gauges keep their last values.
                logger.error("metrics: could not read the outbound queue: \(error)")
            }
            return metrics.exposition()
        }
    }
}
