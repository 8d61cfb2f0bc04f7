extension GatewayConfiguration {
    /// `retention:` when `postgate serve` deletes what the addresses' retention settings
    /// (`address set --retention-days`) no longer keep.
    public struct RetentionSettings: Sendable, Equatable {
        /// Seconds between two retention passes; the first runs a minute after start.
        /// 0 turns the passes off (`postgate retention run` still works).
        public var interval = 86_400

        mutating func apply(_ node: ConfigNode) throws {
            try node.checkKeys(["interval"])
            if let value = try node.int("interval") {
                guard value == 0 || value >= 60 else {
                    throw ConfigurationError("\(node.path).interval must be 0 (off) or at least 60 seconds")
                }
                interval = value
            }
        }
    }
}
