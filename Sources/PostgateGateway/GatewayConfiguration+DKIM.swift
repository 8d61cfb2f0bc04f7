import PostgateDKIM
import PostgateDNS

extension GatewayConfiguration {
    /// `dns:` the resolver the gateway uses (DKIM key records, and MX records for direct delivery).
    public struct DNSSettings: Sendable, Equatable {
        /// `host:port` (or `[v6]:port`) of recursive servers; empty: /etc/resolv.conf.
        public var servers: [String] = []
        /// Seconds to wait for one answer.
        public var timeout = 5
        /// Rounds over the server list.
        public var attempts = 2

        public var resolverConfiguration: DNSResolver.Configuration {
            DNSResolver.Configuration(servers: servers.compactMap { try? DNSServerAddress($0) },
                                      timeout: Double(timeout), attempts: attempts)
        }

        mutating func apply(_ node: ConfigNode) throws {
            try node.checkKeys(["servers", "timeout", "attempts"])
            if let list = try node.stringList("servers") {
                for server in list {
                    do { _ = try DNSServerAddress(server) } catch {
                        throw ConfigurationError("\(node.path).servers: \(error.description)")
                    }
                }
                servers = list
            }
            try node.int("timeout").map { timeout = $0 }
            try node.int("attempts").map { attempts = $0 }
            guard timeout >= 1, attempts >= 1 else {
                throw ConfigurationError("\(node.path): timeout and attempts must be at least 1")
            }
        }
    }

    /// `dkim:` inbound verification and the DNS verification of the domains' keys.
    public struct DKIMSettings: Sendable, Equatable {
        /// Add an Authentication-Results header (RFC 8601) with the DKIM result to every
        /// accepted message.
        public var verifyInbound = true
        /// Seconds after a key is added during which its record is re-checked (72 h).
        public var verificationWindow = 72 * 3600
        /// First re-check delay, doubled after every check up to `recheckMaxInterval`.
        public var recheckInitialInterval = 60
        public var recheckMaxInterval = 3600
        /// How often the server looks for keys whose check is due.
        public var recheckPollInterval = 10

        public var verificationPolicy: DKIMDomainVerification {
            DKIMDomainVerification(window: Double(verificationWindow), initialInterval: Double(recheckInitialInterval),
                                   maxInterval: Double(recheckMaxInterval))
        }

        mutating func apply(_ node: ConfigNode) throws {
            let fields: [(String, WritableKeyPath<Self, Int>)] = [
                ("verification_window", \.verificationWindow), ("recheck_initial_interval", \.recheckInitialInterval),
                ("recheck_max_interval", \.recheckMaxInterval), ("recheck_poll_interval", \.recheckPollInterval),
            ]
            try node.checkKeys(["verify_inbound"] + fields.map(\.0))
            try node.bool("verify_inbound").map { verifyInbound = $0 }
            for (key, keyPath) in fields {
                if let value = try node.int(key) {
                    guard value >= 1 else { throw ConfigurationError("\(node.path).\(key) must be at least 1") }
                    self[keyPath: keyPath] = value
                }
            }
        }
    }
}
