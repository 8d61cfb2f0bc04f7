extension GatewayConfiguration {
    /// `auto_replies:` the gateway-wide side of the addresses' auto-replies (RFC 3834),
    /// which each address switches on with `address set --autoreply-in|--autoreply-out`.
    public struct AutoRepliesSettings: Sendable, Equatable {
        /// Off: no address sends an auto-reply, whatever its settings.
        public var enabled = true
        /// The most auto-replies from one address to one sender in an hour, for an address
        /// that sets no cap of its own (`--autoreply-hourly-cap`).
        public var maxPerSenderPerHour = 3

        mutating func apply(_ node: ConfigNode) throws {
            try node.checkKeys(["enabled", "max_per_sender_per_hour"])
            try node.bool("enabled").map { enabled = $0 }
            if let value = try node.int("max_per_sender_per_hour") {
                guard (0...100).contains(value) else {
                    throw ConfigurationError("\(node.path).max_per_sender_per_hour must be from 0 to 100, not \(value)")
                }
                maxPerSenderPerHour = value
            }
        }
    }
}
