extension GatewayConfiguration {
    /// `webhooks:` how `postgate serve` sends the events of webhook subscriptions
    /// (`postgate webhook add`).
    public struct WebhookSettings: Sendable, Equatable {
        /// false: events still go to the outbox, and wait there.
        public var enabled = true
        /// Seconds between two looks at the outbox when nothing is due.
        public var pollInterval = 1.0
        /// Seconds a subscriber has to answer one delivery.
        public var timeout = 10.0
        /// The first retry's delay in seconds; each next one doubles, up to `retry_max`.
        public var retryInitial = 5.0
        public var retryMax = 3600.0
        /// Seconds after an event's time when its delivery is given up (failed, kept for
        /// `postgate webhook retry`).
        public var maxAge = 259_200.0
        /// The most bytes of a message's text, and of its HTML, in a `message.received` event.
        public var maxTextBytes = 65_536

        mutating func apply(_ node: ConfigNode) throws {
            try node.checkKeys(["enabled", "poll_interval", "timeout", "retry_initial", "retry_max", "max_age", "max_text_bytes"])
            try node.bool("enabled").map { enabled = $0 }
            for (key, range) in [("poll_interval", 0.05...60.0), ("timeout", 0.5...300.0), ("retry_initial", 0.1...86_400.0),
                                 ("retry_max", 1.0...86_400.0), ("max_age", 60.0...2_592_000.0)] {
                guard let value = try node.double(key) else { continue }
                guard range.contains(value) else {
                    throw ConfigurationError("\(node.path).\(key) must be from \(range.lowerBound) to \(range.upperBound) seconds, not \(value)")
                }
                switch key {
                case "poll_interval": pollInterval = value
                case "timeout": timeout = value
                case "retry_initial": retryInitial = value
                case "retry_max": retryMax = value
                default: maxAge = value
                }
            }
            if let value = try node.int("max_text_bytes") {
                guard (0...16_777_216).contains(value) else {
                    throw ConfigurationError("\(node.path).max_text_bytes must be from 0 to 16777216, not \(value)")
                }
                maxTextBytes = value
            }
        }
    }
}
