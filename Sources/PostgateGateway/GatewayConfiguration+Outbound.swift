import Foundation
import PostgateOutbound
import PostgateStore

extension GatewayConfiguration {
    /// The `outbound:` settings: where replies go and how hard the queue tries.
    public struct OutboundSettings: Sendable, Equatable {
        /// `host:port` of the smarthost; empty for direct MX delivery (needs the DNS
        /// resolver of issue 6, which is not wired in yet).
        public var smarthost = ""
        public var tls = SMTPTLSPolicy.opportunistic
        /// Verify the next hop's certificate chain and name. Off only for tests.
        public var verifyCertificates = true
        /// PEM file of trusted roots instead of the system's.
        public var trustRootsFile = ""
        /// AUTH user for the smarthost; the password is read from `authPasswordFile`, never
        /// written in the configuration.
        public var authUser = ""
        public var authPasswordFile = ""
        public var retry = OutboundRetryPolicy()
        public var timeouts = SMTPClientTimeouts()
        /// Seconds between two looks at the queue when nothing is due.
        public var pollInterval = 1.0
    }

    /// The SMTP client settings this configuration implies.
    public var smtpClientConfiguration: SMTPClientConfiguration {
        SMTPClientConfiguration(
            heloName: hostname, verifyCertificates: outbound.verifyCertificates,
            trustRootsFile: outbound.trustRootsFile, timeouts: outbound.timeouts
        )
    }

    /// The smarthost next hop, with the AUTH password read from its file.
    /// - Throws: `ConfigurationError` when no smarthost is set or the password file is unreadable.
    public func outboundNextHop() throws -> NextHop {
        guard !outbound.smarthost.isEmpty else {
            throw ConfigurationError("outbound.smarthost is not set; direct MX delivery needs the DNS resolver, which is not available yet")
        }
        let address = try ListenAddress(outbound.smarthost)
        var credentials: SMTPCredentials?
        if !outbound.authUser.isEmpty {
            guard let data = FileManager.default.contents(atPath: outbound.authPasswordFile),
                  let text = String(data: data, encoding: .utf8) else {
                throw ConfigurationError("cannot read outbound.auth_password_file '\(outbound.authPasswordFile)'")
            }
            credentials = SMTPCredentials(user: outbound.authUser, password: text.trimmingCharacters(in: .newlines))
        }
        return .smarthost(SMTPEndpoint(host: address.host, port: address.port, tls: outbound.tls, credentials: credentials))
    }
}

extension GatewayConfiguration.OutboundSettings {
    mutating func apply(_ node: ConfigNode) throws {
        try node.checkKeys([
            "smarthost", "tls", "verify_certificates", "trust_roots_file", "auth_user", "auth_password_file",
            "retry", "timeouts", "poll_interval",
        ])
        try node.string("smarthost").map { smarthost = $0 }
        if let text = try node.string("tls") {
            guard let policy = SMTPTLSPolicy(rawValue: text) else {
                throw ConfigurationError("\(node.path).tls: \(text) is not one of required, opportunistic, none")
            }
            tls = policy
        }
        try node.bool("verify_certificates").map { verifyCertificates = $0 }
        try node.string("trust_roots_file").map { trustRootsFile = $0 }
        try node.string("auth_user").map { authUser = $0 }
        try node.string("auth_password_file").map { authPasswordFile = $0 }
        try node.double("poll_interval").map { pollInterval = $0 }
        if let retryNode = try node.child("retry") { try applyNumbers(retryNode, Self.retryFields, to: &retry) }
        if let timeoutsNode = try node.child("timeouts") { try applyNumbers(timeoutsNode, Self.timeoutFields, to: &timeouts) }
    }

    private static var retryFields: [(String, WritableKeyPath<OutboundRetryPolicy, Double>)] {
        [("first", \.firstRetry), ("factor", \.factor), ("max_interval", \.maxInterval), ("lifetime", \.lifetime)]
    }

    private static var timeoutFields: [(String, WritableKeyPath<SMTPClientTimeouts, Double>)] {
        [("connect", \.connect), ("greeting", \.greeting), ("command", \.command),
         ("data_initiation", \.dataInitiation), ("data_block", \.dataBlock), ("data_termination", \.dataTermination)]
    }

    private func applyNumbers<T>(_ node: ConfigNode, _ fields: [(String, WritableKeyPath<T, Double>)], to value: inout T) throws {
        try node.checkKeys(fields.map(\.0))
        for (key, keyPath) in fields {
            if let number = try node.double(key) { value[keyPath: keyPath] = number }
        }
    }

    func validate(source: String) throws {
        if !smarthost.isEmpty { _ = try ListenAddress(smarthost) }
        if !authUser.isEmpty && authPasswordFile.isEmpty {
            throw ConfigurationError("\(source): outbound.auth_user needs outbound.auth_password_file")
        }
        if !authUser.isEmpty && tls == .none {
            throw ConfigurationError("\(source): outbound.auth_user needs outbound.tls required or opportunistic (AUTH only over TLS)")
        }
        if retry.factor < 1 || retry.firstRetry <= 0 || retry.maxInterval <= 0 || retry.lifetime <= 0 {
            throw ConfigurationError("\(source): outbound.retry needs first, max_interval and lifetime above 0 and factor at least 1")
        }
    }
}
