extension GatewayConfiguration {
    /// `api:` the HTTP API listener (off unless `listen` names an address; the embedded
    /// default configuration listens on 127.0.0.1:2080).
    public struct APISettings: Sendable, Equatable {
        public var listen: [String] = []
        /// HTTP/2 and HTTP/1.1 over TLS with the gateway's certificate. Off: plain HTTP/1.1,
        /// refused unless every listen address is a loopback address (tokens would cross the
        /// network in the clear).
        public var tls = true
        /// Largest request body; larger ones are answered 413 without being read.
        public var maxBodyBytes = 1_048_576
        /// `/readyz` says not ready when the data directory's filesystem has less free space.
        public var readyMinFreeBytes = 268_435_456

        public static let embeddedListen = ["127.0.0.1:2080"]

        mutating func apply(_ node: ConfigNode) throws {
            try node.checkKeys(["listen", "tls", "max_body_bytes", "ready_min_free_bytes"])
            try node.stringList("listen").map { listen = $0 }
            try node.bool("tls").map { tls = $0 }
            if let value = try node.int("max_body_bytes") {
                guard (1024...67_108_864).contains(value) else {
                    throw ConfigurationError("\(node.path).max_body_bytes must be 1024 to 67108864, not \(value)")
                }
                maxBodyBytes = value
            }
            if let value = try node.int("ready_min_free_bytes") {
                guard value >= 0 else { throw ConfigurationError("\(node.path).ready_min_free_bytes must be 0 or more, not \(value)") }
                readyMinFreeBytes = value
            }
            for text in listen {
                let address = try ListenAddress(text)
                if !tls, !Self.isLoopback(address.host) {
                    throw ConfigurationError("\(node.path).tls: false is allowed only on loopback addresses, and \(text) is not one; API tokens must not cross a network in the clear")
                }
            }
        }

        static func isLoopback(_ host: String) -> Bool {
            host == "localhost" || host == "::1" || host.hasPrefix("127.")
        }
    }

    /// The configuration `postgate serve` runs without `--config`: every default, and the
    /// API on loopback.
    public static var embeddedDefault: GatewayConfiguration {
        var configuration = GatewayConfiguration()
        configuration.api.listen = APISettings.embeddedListen
        return configuration
    }
}
