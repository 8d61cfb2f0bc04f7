import Foundation
import Logging
import PostgateLogging
import PostgateIMAP
import PostgateSMTP
import PostgateStore
import Yams
import PostgateMaildir
import PostgateIndex
import PostgateDirectory

/// Everything `postgate serve` can be told, read from a YAML file (see
/// `Config/postgate.example.yaml`, which names every setting with its default).
///
/// Every key is optional; a key this version does not know is an error, so a misspelt
/// limit is never silently ignored.
public struct GatewayConfiguration: Sendable, Equatable {
    public var hostname = "postgate.localhost"
    public var dataDirectory = "./postgate-data"
    /// How a delivery makes its file and Maildir entries durable before the `250`.
    public var dataSync = DurableSync.Mode.filesystem
    public var logLevel = Logger.Level.info
    /// `log_format:` how each log line is written (logfmt or JSON, one line per event).
    public var logFormat = LogLineFormat.logfmt
    public var tls = TLSSettings()
    public var smtp = SMTPSettings()
    public var imap = IMAPSettings()
    public var imaps = IMAPSSettings()
    /// `submission:` and `submissions:` listeners for agents' replies.
    public var submission = SubmissionSettings()
    public var submissions = SubmissionsSettings()
    /// `sessions:` idle timeout and duplicate window.
    public var sessions = SessionSettings()
    /// The channel model's limits per domain kind (standard 5 × 5, advanced 50 × 50 by default).
    public var channels = ChannelsSettings()
    /// Outbound delivery: next hop, TLS, AUTH, retry schedule (see GatewayConfiguration+Outbound).
    public var outbound = OutboundSettings()

    public struct ChannelsSettings: Sendable, Equatable {
        public var limits = ChannelLimits()
        /// The key that seals mailbox connector secrets (`SecretBox`); empty means
        /// `DATA/secret.key`.
        public var secretKeyFile = ""
    }
    public var dns = DNSSettings()
    public var dkim = DKIMSettings()
    public var connectors = ConnectorSettings()
    public var retention = RetentionSettings()
    public var autoReplies = AutoRepliesSettings()
    /// `login:` the password-guessing brake shared by IMAP and submission.
    public var login = LoginSettings()
    /// `api:` the HTTP API listener (see GatewayConfiguration+API).
    public var api = APISettings()
    /// `webhooks:` sending webhook events (see GatewayConfiguration+Webhooks).
    public var webhooks = WebhookSettings()
    /// `bots:` asking the bots attached to addresses (see GatewayConfiguration+Bots).
    public var bots = BotSettings()

    public struct TLSSettings: Sendable, Equatable {
        /// PEM chain and key; both empty means a self-signed certificate in DATA/certs.
        public var certificateFile = ""
        public var privateKeyFile = ""
        /// Seconds a TLS handshake (implicit TLS or after STARTTLS) may take on any
        /// listener before the connection is closed.
        public var handshakeTimeout = 10
    }

    /// The brake on password guessing, one for IMAP and submission together: failures
    /// and checks under way counted per client IP address and per account.
    public struct LoginSettings: Sendable, Equatable {
        public var maxFailuresPerIP = 10
        public var maxFailuresPerAccount = 20
        public var lockoutSeconds = 300
        /// Password checks (scrypt, 32 MiB each) that may run at once, on threads of their own;
        /// 0: half the processor cores, at least one, so that guessers never take every core
        /// from mail delivery.
        public var concurrentChecks = 0

        /// `concurrentChecks`, with 0 resolved for a machine of `cores` cores.
        public func checkThreads(cores: Int) -> Int {
            concurrentChecks > 0 ? concurrentChecks : max(1, cores / 2)
        }
    }

    public struct SMTPSettings: Sendable, Equatable {
        public var listen = ["127.0.0.1:2525"]
        public var startTLS = true
        public var limits = Limits()
    }

    /// The IMAP listener with STARTTLS (RFC 9051), and its limits.
    public struct IMAPSettings: Sendable, Equatable {
        public var listen = ["127.0.0.1:2143"]
        /// LOGIN and AUTHENTICATE without TLS; only for tests on loopback.
        public var allowPlaintextAuth = false
        /// Longest command line, and largest literal other than an APPEND's message.
        public var maxLineLength = 65_536
        /// Largest message APPEND takes (APPENDLIMIT, RFC 7889).
        public var maxLiteralSize = 36_700_160
        public var idleTimeout = 1800
        /// Seconds between an idling session's looks at its mailbox for changes another
        /// process made (an admin command); this process's own changes are pushed at once.
        public var idleCheckInterval = 30
        /// Seconds a connection may stay without logging in, from its start.
        public var loginTimeout = 60
        /// Seconds a client may leave a response unread before the connection is closed.
        public var sendTimeout = 60
        /// Concurrent IMAP and IMAPS sessions in total (at most what the descriptor limit
        /// leaves after the SMTP listeners' reserve, see `effectiveIMAPMaxConnections`),
        /// and from one client IP address.
        public var maxConnections = 1000
        public var maxConnectionsPerIP = 20
        /// Threads running IMAP commands' store work, apart from SMTP delivery's.
        public var threads = 8
        /// IMAP commands of one agent that run on those threads at once (the others wait),
        /// so one account's connections cannot take every thread.
        public var threadsPerAgent = 2
        public var failedLoginDelayMs = 1000
        /// Seconds a password that passed scrypt is remembered (in memory, as an HMAC) so
        /// the agent's next logins skip scrypt; 0 turns this off (Dovecot's auth cache).
        public var authCacheTTL = 600
    }

    /// The implicit-TLS IMAP listener (RFC 8314); it shares the IMAP limits.
    public struct IMAPSSettings: Sendable, Equatable {
        public var listen = ["127.0.0.1:2993"]
    }

    public struct Limits: Sendable, Equatable {
        public var maxMessageSize = 36_700_160
        public var maxLineLength = 1000
        public var maxHeaderSize = 262_144
        public var maxRecipients = 100
        public var maxCommandsBeforeMail = 30
        public var maxErrors = 20
        public var maxConnections = 500
        public var maxConnectionsPerIP = 50
        public var commandTimeout = 300
        public var dataTimeout = 180
        public var minDataRate = 500
    }

    public init() {}

    /// Reads a configuration file. Errors name the file and what is wrong in one line.
    public static func load(file path: String) throws -> GatewayConfiguration {
        guard let text = FileManager.default.contents(atPath: path).flatMap({ String(data: $0, encoding: .utf8) }) else {
            throw ConfigurationError("cannot read config file \(path)")
        }
        return try parse(text, source: path)
    }

    public static func parse(_ text: String, source: String = "config") throws -> GatewayConfiguration {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw ConfigurationError("\(source) is not valid YAML: \(error)")
        }
        var configuration = GatewayConfiguration()
        guard let root else { return configuration }
        try configuration.apply(ConfigNode(root, path: source))
        try configuration.validate(source: source)
        return configuration
    }

    /// The IMAP protocol settings this configuration implies.
    public var imapServerConfiguration: IMAPServerConfiguration {
        IMAPServerConfiguration(
            hostname: hostname, maxLineLength: imap.maxLineLength, maxLiteralSize: imap.maxLiteralSize,
            allowPlaintextAuth: imap.allowPlaintextAuth, idleTimeout: Int64(imap.idleTimeout),
            failedLoginDelay: Int64(imap.failedLoginDelayMs), loginTimeout: Int64(imap.loginTimeout),
            sendTimeout: Int64(imap.sendTimeout), tlsHandshakeTimeout: Int64(tls.handshakeTimeout),
            idleCheckInterval: Int64(imap.idleCheckInterval)
        )
    }

    /// The SMTP protocol settings this configuration implies.
    public var smtpServerConfiguration: SMTPServerConfiguration {
        SMTPServerConfiguration(
            hostname: hostname,
            maxMessageSize: smtp.limits.maxMessageSize,
            maxLineLength: smtp.limits.maxLineLength,
            maxHeaderSize: smtp.limits.maxHeaderSize,
            maxRecipients: smtp.limits.maxRecipients,
            maxCommandsBeforeMail: smtp.limits.maxCommandsBeforeMail,
            maxErrors: smtp.limits.maxErrors,
            commandTimeout: Int64(smtp.limits.commandTimeout),
            dataTimeout: Int64(smtp.limits.dataTimeout),
            minDataRate: smtp.limits.minDataRate,
            tlsHandshakeTimeout: Int64(tls.handshakeTimeout)
        )
    }

    private mutating func apply(_ node: ConfigNode) throws {
        try node.checkKeys(["hostname", "data_directory", "data_sync", "log_level", "log_format", "tls", "smtp", "imap", "imaps", "submission", "submissions", "channels", "dns", "dkim", "sessions", "outbound", "connectors", "retention", "login", "api", "auto_replies", "webhooks", "bots"])
        try node.string("hostname").map { hostname = $0 }
        try node.string("data_directory").map { dataDirectory = $0 }
        if let mode = try node.string("data_sync") {
            guard let parsed = DurableSync.Mode(rawValue: mode) else {
                throw ConfigurationError("\(node.path).data_sync: \(mode) is not one of filesystem, files")
            }
            dataSync = parsed
        }
        if let level = try node.string("log_level") {
            guard let parsed = Logger.Level(rawValue: level) else {
                throw ConfigurationError("\(node.path).log_level: \(level) is not one of trace, debug, info, notice, warning, error, critical")
            }
            logLevel = parsed
        }
        if let format = try node.string("log_format") {
            guard let parsed = LogLineFormat(rawValue: format) else {
                throw ConfigurationError("\(node.path).log_format: \(format) is not one of logfmt, json")
            }
            logFormat = parsed
        }
        if let tlsNode = try node.child("tls") {
            try tlsNode.checkKeys(["certificate_file", "private_key_file", "handshake_timeout"])
            try tlsNode.string("certificate_file").map { tls.certificateFile = $0 }
            try tlsNode.string("private_key_file").map { tls.privateKeyFile = $0 }
            try tlsNode.int("handshake_timeout").map { tls.handshakeTimeout = $0 }
        }
        if let smtpNode = try node.child("smtp") {
            try smtp.apply(smtpNode)
        }
        if let imapNode = try node.child("imap") {
            try imap.apply(imapNode)
        }
        if let imapsNode = try node.child("imaps") {
            try imapsNode.checkKeys(["listen"])
            try imapsNode.stringList("listen").map { imaps.listen = $0 }
        }
        if let submissionNode = try node.child("submission") {
            try submission.apply(submissionNode)
        }
        if let submissionsNode = try node.child("submissions") {
            try submissionsNode.checkKeys(["listen"])
            try submissionsNode.stringList("listen").map { submissions.listen = $0 }
        }
        if let channelsNode = try node.child("channels") {
            try channels.apply(channelsNode)
        }
        if let dnsNode = try node.child("dns") { try dns.apply(dnsNode) }
        if let dkimNode = try node.child("dkim") { try dkim.apply(dkimNode) }
        if let connectorsNode = try node.child("connectors") { try connectors.apply(connectorsNode) }
        if let retentionNode = try node.child("retention") { try retention.apply(retentionNode) }
        if let apiNode = try node.child("api") { try api.apply(apiNode) }
        if let webhooksNode = try node.child("webhooks") { try webhooks.apply(webhooksNode) }
        if let botsNode = try node.child("bots") { try bots.apply(botsNode) }
        if let autoRepliesNode = try node.child("auto_replies") { try autoReplies.apply(autoRepliesNode) }
        try applyEarlierLoginSettings(node)
        if let loginNode = try node.child("login") { try login.apply(loginNode) }
        if let sessionsNode = try node.child("sessions") {
            try sessionsNode.checkKeys(["idle_timeout", "duplicate_window", "sweep_interval"])
            try sessionsNode.duration("idle_timeout").map { sessions.idleTimeout = $0 }
            try sessionsNode.duration("duplicate_window").map { sessions.duplicateWindow = $0 }
            if let interval = try sessionsNode.duration("sweep_interval") {
                guard interval >= 1 else { throw ConfigurationError("sessions.sweep_interval must be at least 1s") }
                sessions.sweepInterval = interval
            }
        }
        if let outboundNode = try node.child("outbound") {
            try outbound.apply(outboundNode)
        }
    }

    private func validate(source: String) throws {
        if tls.certificateFile.isEmpty != tls.privateKeyFile.isEmpty {
            throw ConfigurationError("\(source): tls.certificate_file and tls.private_key_file must be given together")
        }
        if smtp.limits.maxLineLength < 512 {
            throw ConfigurationError("\(source): smtp.limits.max_line_length must be at least 512 (RFC 5321 section 4.5.3.1.4)")
        }
        if smtp.limits.maxRecipients < 1 || smtp.limits.maxErrors < 1 || smtp.limits.maxConnections < 1 || smtp.limits.maxConnectionsPerIP < 1 {
            throw ConfigurationError("\(source): smtp limits must be at least 1")
        }
        for address in smtp.listen + imap.listen + imaps.listen + submission.listen + submissions.listen { _ = try ListenAddress(address) }
        try submission.validate(source: source)
        try outbound.validate(source: source)
        if imap.maxLineLength < 1000 || imap.maxLiteralSize < 1 || imap.idleTimeout < 1800 || imap.authCacheTTL < 0
            || imap.loginTimeout < 1 || imap.sendTimeout < 1 || imap.maxConnections < 1 || imap.maxConnectionsPerIP < 1 || imap.threads < 1
            || imap.threadsPerAgent < 1 || imap.idleCheckInterval < 1 {
            throw ConfigurationError("\(source): imap.max_line_length must be at least 1000, imap.idle_timeout at least 1800 (RFC 9051 section 5.4), the other imap limits at least 1, imap.auth_cache_ttl at least 0")
        }
        if tls.handshakeTimeout < 1 || smtp.limits.minDataRate < 1 || smtp.limits.commandTimeout < 1 || smtp.limits.dataTimeout < 1 {
            throw ConfigurationError("\(source): tls.handshake_timeout, smtp.limits.min_data_rate, command_timeout and data_timeout must be at least 1")
        }
        if login.maxFailuresPerIP < 1 || login.maxFailuresPerAccount < 1 || login.concurrentChecks < 0 {
            throw ConfigurationError("\(source): login.max_failures_per_ip and max_failures_per_account must be at least 1, concurrent_checks at least 0 (0: half the cores)")
        }
    }
}

extension GatewayConfiguration.IMAPSettings {
    fileprivate mutating func apply(_ node: ConfigNode) throws {
        let fields: [(String, WritableKeyPath<Self, Int>)] = [
            ("max_line_length", \.maxLineLength), ("max_literal_size", \.maxLiteralSize), ("idle_timeout", \.idleTimeout),
            ("failed_login_delay_ms", \.failedLoginDelayMs), ("auth_cache_ttl", \.authCacheTTL),
            ("login_timeout", \.loginTimeout), ("send_timeout", \.sendTimeout), ("max_connections", \.maxConnections),
            ("max_connections_per_ip", \.maxConnectionsPerIP), ("threads", \.threads), ("threads_per_agent", \.threadsPerAgent),
            ("idle_check_interval", \.idleCheckInterval),
        ]
        try node.checkKeys(["listen", "allow_plaintext_auth"] + fields.map(\.0) + GatewayConfiguration.earlierLoginKeys)
        try node.stringList("listen").map { listen = $0 }
        try node.bool("allow_plaintext_auth").map { allowPlaintextAuth = $0 }
        for (key, keyPath) in fields {
            if let value = try node.int(key) { self[keyPath: keyPath] = value }
        }
    }
}

extension GatewayConfiguration.SMTPSettings {
    fileprivate mutating func apply(_ node: ConfigNode) throws {
        try node.checkKeys(["listen", "starttls", "limits"])
        try node.stringList("listen").map { listen = $0 }
        try node.bool("starttls").map { startTLS = $0 }
        guard let limitsNode = try node.child("limits") else { return }
        let fields: [(String, WritableKeyPath<GatewayConfiguration.Limits, Int>)] = [
            ("max_message_size", \.maxMessageSize), ("max_line_length", \.maxLineLength),
            ("max_header_size", \.maxHeaderSize), ("max_recipients", \.maxRecipients),
            ("max_commands_before_mail", \.maxCommandsBeforeMail), ("max_errors", \.maxErrors),
            ("max_connections", \.maxConnections), ("max_connections_per_ip", \.maxConnectionsPerIP),
            ("command_timeout", \.commandTimeout), ("data_timeout", \.dataTimeout), ("min_data_rate", \.minDataRate),
        ]
        try limitsNode.checkKeys(fields.map(\.0))
        for (key, keyPath) in fields {
            if let value = try limitsNode.int(key) { limits[keyPath: keyPath] = value }
        }
    }
}

extension GatewayConfiguration.LoginSettings {
    fileprivate mutating func apply(_ node: ConfigNode) throws {
        let fields: [(String, WritableKeyPath<Self, Int>)] = [
            ("max_failures_per_ip", \.maxFailuresPerIP), ("max_failures_per_account", \.maxFailuresPerAccount),
            ("lockout_seconds", \.lockoutSeconds), ("concurrent_checks", \.concurrentChecks),
        ]
        try node.checkKeys(fields.map(\.0))
        for (key, keyPath) in fields {
            if let value = try node.int(key) { self[keyPath: keyPath] = value }
        }
    }
}

extension GatewayConfiguration.ChannelsSettings {
    fileprivate mutating func apply(_ node: ConfigNode) throws {
        try node.checkKeys(["limits", "secret_key_file"])
        try node.string("secret_key_file").map { secretKeyFile = $0 }
        guard let limitsNode = try node.child("limits") else { return }
        try limitsNode.checkKeys(["standard", "advanced"])
        let kinds: [(String, WritableKeyPath<ChannelLimits, ChannelLimits.Limit>)] = [("standard", \.standard), ("advanced", \.advanced)]
        for (key, keyPath) in kinds {
            guard let kindNode = try limitsNode.child(key) else { continue }
            try kindNode.checkKeys(["domains", "addresses_per_domain"])
            try kindNode.int("domains").map { limits[keyPath: keyPath].domains = $0 }
            try kindNode.int("addresses_per_domain").map { limits[keyPath: keyPath].addressesPerDomain = $0 }
        }
    }
}

/// A configuration problem, in one line an administrator can act on.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A host:port to listen on; `[::1]:2525` for IPv6.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(_ text: String) throws {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            // `[::1]2525` must not lose its first digit as if it were the colon.
            guard rest.first == ":" else {
                throw ConfigurationError("listen address \(text) needs the form [host]:port")
            }
            portPart = rest.dropFirst()
        } else if let colon = text.lastIndex(of: ":") {
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        } else {
            throw ConfigurationError("listen address \(text) needs the form host:port")
        }
        guard let port = Int(portPart), (0...65535).contains(port), !hostPart.isEmpty else {
            throw ConfigurationError("listen address \(text) needs the form host:port with a port from 0 to 65535")
        }
        self.host = String(hostPart)
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A YAML mapping with its path, for error messages that say where the problem is.
struct ConfigNode {
    let node: Node
    let path: String

    init(_ node: Node, path: String) {
        self.node = node
        self.path = path
    }

    private var mapping: Node.Mapping? { node.mapping }

    func checkKeys(_ allowed: [String]) throws {
        guard let mapping else { throw ConfigurationError("\(path) must be a mapping of settings") }
        for key in mapping.keys {
            let name = key.string ?? "\(key)"
            if !allowed.contains(name) {
                throw ConfigurationError("\(path): unknown setting '\(name)'; known here: \(allowed.joined(separator: ", "))")
            }
        }
    }

    private func value(_ key: String) -> Node? { mapping?[key] }

    func child(_ key: String) throws -> ConfigNode? {
        guard let value = value(key) else { return nil }
        if case .scalar(let scalar) = value, scalar.string == "" || scalar.string == "~" || scalar.string == "null" { return nil }
        return ConfigNode(value, path: "\(path).\(key)")
    }

    func string(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard let text = value.scalar?.string else { throw ConfigurationError("\(path).\(key) must be a text value") }
        return text
    }

    func int(_ key: String) throws -> Int? {
        guard let text = try string(key) else { return nil }
        guard let number = Int(text.replacingOccurrences(of: "_", with: "")), number >= 0 else {
            throw ConfigurationError("\(path).\(key) must be a whole number, not '\(text)'")
        }
        return number
    }

    /// A duration: a whole number with a unit, `s`, `m`, `h` or `d` (`7d`, `36h`), or plain seconds.
    func duration(_ key: String) throws -> TimeInterval? {
        guard let text = try string(key) else { return nil }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        let unit = text.last.flatMap { units[$0] }
        let digits = unit == nil ? Substring(text) : text.dropLast()
        guard let number = Int(digits), number > 0 else {
            throw ConfigurationError("\(path).\(key) must be a duration such as 7d, 36h, 90m or 3600s, not '\(text)'")
        }
        return Double(number) * (unit ?? 1)
    }

    func double(_ key: String) throws -> Double? {
        guard let text = try string(key) else { return nil }
        guard let number = Double(text.replacingOccurrences(of: "_", with: "")), number >= 0 else {
            throw ConfigurationError("\(path).\(key) must be a number, not '\(text)'")
        }
        return number
    }

    func bool(_ key: String) throws -> Bool? {
        guard let text = try string(key) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw ConfigurationError("\(path).\(key) must be true or false, not '\(text)'")
        }
    }

    func stringList(_ key: String) throws -> [String]? {
        guard let value = value(key) else { return nil }
        guard let sequence = value.sequence else { throw ConfigurationError("\(path).\(key) must be a list") }
        return try sequence.map { item in
            guard let text = item.scalar?.string else { throw ConfigurationError("\(path).\(key) must be a list of texts") }
            return text
        }
    }
}

extension GatewayConfiguration {
    /// Keys of `imap:` and `submission:` that earlier versions had for the login brake,
    /// now in `login:`.
    static let earlierLoginKeys = ["max_failed_logins", "lockout_seconds"]

    /// A configuration written for an earlier version keeps working: its
    /// `imap.max_failed_logins` / `submission.max_failed_logins` become
    /// `login.max_failures_per_ip` (the lower of the two when both are set), and its
    /// `lockout_seconds` `login.lockout_seconds` (the longer); `login:` itself wins.
    fileprivate mutating func applyEarlierLoginSettings(_ node: ConfigNode) throws {
        var failures: [Int] = []
        var lockouts: [Int] = []
        for section in ["imap", "submission"] {
            guard let child = try node.child(section) else { continue }
            try child.int("max_failed_logins").map { failures.append($0) }
            try child.int("lockout_seconds").map { lockouts.append($0) }
        }
        if let lowest = failures.min() { login.maxFailuresPerIP = lowest }
        if let longest = lockouts.max() { login.lockoutSeconds = longest }
    }
}
