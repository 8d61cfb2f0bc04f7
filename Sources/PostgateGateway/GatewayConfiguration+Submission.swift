import PostgateSMTP

extension GatewayConfiguration {
    /// The `submission:` listener where agents' mail clients send replies (RFC 6409, port
    /// 587 in production): plain TCP, STARTTLS (RFC 3207), then AUTH PLAIN or LOGIN
    /// (RFC 4954) with the agent's credentials. Message limits are `smtp.limits`'; the
    /// settings here are the ones a listener open to logins needs of its own.
    public struct SubmissionSettings: Sendable, Equatable {
        public var listen = ["127.0.0.1:2587"]
        /// Concurrent sessions on the submission listeners, in total and per client IP. Kept
        /// apart from the MX listener's, so a flood of inbound mail never locks agents out.
        public var maxConnections = 100
        public var maxConnectionsPerIP = 20
        /// Milliseconds before a failed AUTH is answered (slows guessing down); failures
        /// count in the `login:` throttle shared with IMAP.
        public var failedLoginDelayMs = 1000
    }

    /// The `submissions:` listener: the same service with implicit TLS (RFC 8314 section
    /// 3.3, port 465 in production). On by default, on loopback, because RFC 8314 asks mail
    /// clients to prefer implicit TLS and Thunderbird and Outlook offer it first ("SSL/TLS"),
    /// as the IMAPS listener is on beside IMAP.
    public struct SubmissionsSettings: Sendable, Equatable {
        public var listen = ["127.0.0.1:2465"]
    }

    /// True when any submission listener is configured (they always need TLS material).
    var offersSubmission: Bool {
        !submission.listen.isEmpty || !submissions.listen.isEmpty
    }

    /// The SMTP protocol settings of the submission listeners: the MX limits, in
    /// submission mode.
    public var submissionServerConfiguration: SMTPServerConfiguration {
        var configuration = smtpServerConfiguration
        configuration.mode = .submission
        return configuration
    }
}

extension GatewayConfiguration.SubmissionSettings {
    mutating func apply(_ node: ConfigNode) throws {
        let fields: [(String, WritableKeyPath<Self, Int>)] = [
            ("max_connections", \.maxConnections), ("max_connections_per_ip", \.maxConnectionsPerIP),
            ("failed_login_delay_ms", \.failedLoginDelayMs),
        ]
        try node.checkKeys(["listen"] + fields.map(\.0) + GatewayConfiguration.earlierLoginKeys)
        try node.stringList("listen").map { listen = $0 }
        for (key, keyPath) in fields {
            if let value = try node.int(key) { self[keyPath: keyPath] = value }
        }
    }

    func validate(source: String) throws {
        if maxConnections < 1 || maxConnectionsPerIP < 1 {
            throw ConfigurationError("\(source): submission.max_connections and max_connections_per_ip must be at least 1")
        }
    }
}
