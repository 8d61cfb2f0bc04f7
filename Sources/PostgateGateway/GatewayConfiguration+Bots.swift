extension GatewayConfiguration {
    /// `bots:` how `postgate serve` asks the bots attached to addresses (`postgate bot set`).
    public struct BotSettings: Sendable, Equatable {
        /// Seconds between two looks for messages held for a bot when none is waiting.
        public var pollInterval = 0.2

        mutating func apply(_ node: ConfigNode) throws {
            try node.checkKeys(["poll_interval"])
            if let value = try node.double("poll_interval") {
                guard (0.01...60).contains(value) else {
                    throw ConfigurationError("\(node.path).poll_interval must be from 0.01 to 60 seconds, not \(value)")
                }
                pollInterval = value
            }
        }
    }
}
