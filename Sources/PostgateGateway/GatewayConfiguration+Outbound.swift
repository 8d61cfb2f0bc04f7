import Foundation
import NIOPosix
import PostgateDNS
import PostgateOutbound
import PostgateStore

extension GatewayConfiguration {
    /// The `outbound:` settings: where replies go and how hard the queue tries.
    public struct OutboundSettings: Sendable, Equatable {
        /// `host:port` of the smarthost; empty for direct delivery to each recipient
        /// domain's MX (RFC 5321 section 5.1) through the `dns:` resolver.
        public var smarthost = ""
        /// The port of the mail exchangers in direct MX delivery (25; tests use another).
        public var mxPort = 25
        /// The most bytes of attachments (decoded) a reply may carry: 20 MB by default.
        public var maxAttachmentBytes = 20 * 1024 * 1024
        /// Recipients of a reply when the channel address sets no `maxTo`/`maxCc`/`maxBcc`.
        public var defaultMaxTo = 50
        public var defaultMaxCc = 25
        public var defaultMaxBcc = 25
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
        /// Seconds a reply may wait undelivered before `postgate check` reports an error.
        public var alertAfter = 3600.0
    }

    /// The SMTP client settings this configuration implies.
    public var smtpClientConfiguration: SMTPClientConfiguration {
        SMTPClientConfiguration(
            heloName: hostname, verifyCertificates: outbound.verifyCertificates,
            trustRootsFile: outbound.trustRootsFile, timeouts: outbound.timeouts
        )
    }

    /// The next hop: the smarthost (AUTH password read from its file), else direct MX
    /// delivery through the `dns:` resolver, whose queries run on `threadPool`. Blocks: it
    /// reads the password file, or /etc/resolv.conf when no DNS servers are configured.
    /// - Throws: `ConfigurationError` when the password file is unreadable.
    public func outboundNextHop(threadPool: NIOThreadPool) throws -> NextHop {
        guard !outbound.smarthost.isEmpty else {
            let resolver = DNSOutboundResolver(resolver: DNSResolver(configuration: dns.resolverConfiguration), threadPool: threadPool)
            return .mx(resolver: resolver, port: outbound.mxPort, tls: outbound.tls)
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
            "retry", "timeouts", "poll_interval", "mx_port", "max_attachment_bytes", "default_max_to",
            "default_max_cc", "default_max_bcc", "alert_after",
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
        try node.double("alert_after").map { alertAfter = $0 }
        try node.int("mx_port").map { mxPort = $0 }
        try node.int("max_attachment_bytes").map { maxAttachmentBytes = $0 }
        try node.int("default_max_to").map { defaultMaxTo = $0 }
        try node.int("default_max_cc").map { defaultMaxCc = $0 }
        try node.int("default_max_bcc").map { defaultMaxBcc = $0 }
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
        if alertAfter <= 0 {
            throw ConfigurationError("\(source): outbound.alert_after must be a number of seconds above 0")
        }
        if mxPort < 1 || mxPort > 65535 {
            throw ConfigurationError("\(source): outbound.mx_port must be a port number (1-65535)")
        }
        if defaultMaxTo + defaultMaxCc + defaultMaxBcc > 100 {
            throw ConfigurationError("\(source): outbound.default_max_to, default_max_cc and default_max_bcc add up to at most 100")
        }
        if retry.factor < 1 || retry.firstRetry <= 0 || retry.maxInterval <= 0 || retry.lifetime <= 0 {
            throw ConfigurationError("\(source): outbound.retry needs first, max_interval and lifetime above 0 and factor at least 1")
        }
    }
}
