import CoreMetrics
import Prometheus

/// One gateway's metrics: the registry `/metrics` reads and the factory every concern makes
/// its counters, gauges and histograms with. Passed explicitly, so that a gateway in a test
/// has metrics of its own whatever `MetricsSystem` was bootstrapped with (if anything).
public struct GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: any MetricsFactory
    /// Shared by the deliveries that add to it and the scrape that reads it in full.
    public let storeSize: StoreSizeGauge

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        self.factory = GatewayMetricsFactory(registry: registry)
        self.storeSize = StoreSizeGauge(factory: factory)
    }

    /// Every family in the text exposition format, version 0.0.4
    /// (https://prometheus.io/docs/instrumenting/exposition_formats/).
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }

    /// The value of one series as exposed (`name{label="value",…}`), nil when absent.
    public func sample(_ series: String) -> Double? {
        let text = String(decoding: exposition(), as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }
}

/// Label values from a fixed set. Each case's raw value is what Prometheus shows.
public protocol MetricLabel: RawRepresentable<String>, CaseIterable, Hashable, Sendable {}

extension Dictionary where Key: MetricLabel, Value == CoreMetrics.Counter {
    /// One counter per value of a label, made up front: counting is then a dictionary read
    /// and an atomic add, and every series exists (at zero) from the start.
    public init(_ name: String, label: String, dimensions: [(String, String)] = [], factory: any MetricsFactory) {
        self.init(uniqueKeysWithValues: Key.allCases.map { value in
            (value, CoreMetrics.Counter(label: name, dimensions: dimensions + [(label, value.rawValue)], factory: factory))
        })
    }
}
