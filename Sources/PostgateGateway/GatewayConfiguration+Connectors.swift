extension GatewayConfiguration {
    /// `connectors:` how the gateway runs the addresses' receiving gateways (each gateway's
    /// own settings are edited with `postgate connector set` and published).
    public struct ConnectorSettings: Sendable, Equatable {
        /// Fetch from published receiving gateways.
        public var fetch = true
        /// Gateways fetching at the same time; the others wait their turn, so memory and
        /// the store's write load stay bounded however many gateways there are.
        public var maxConcurrentFetches = 16
        /// Seconds before the first retry after a failure, doubled per failure up to the
        /// gateway's poll interval.
        public var retryDelay = 30
        /// Seconds between looks for published, changed or removed gateways (and for an
        /// administrator's `postgate connector retry` of a failed one).
        public var reloadInterval = 10

        mutating func apply(_ node: ConfigNode) throws {
            let fields: [(String, WritableKeyPath<Self, Int>)] = [
                ("max_concurrent_fetches", \.maxConcurrentFetches), ("retry_delay", \.retryDelay),
                ("reload_interval", \.reloadInterval),
            ]
            try node.checkKeys(["fetch"] + fields.map(\.0))
            try node.bool("fetch").map { fetch = $0 }
            for (key, keyPath) in fields {
                if let value = try node.int(key) {
                    guard value >= 1 else { throw ConfigurationError("\(node.path).\(key) must be at least 1") }
                    self[keyPath: keyPath] = value
                }
            }
        }
    }
}
