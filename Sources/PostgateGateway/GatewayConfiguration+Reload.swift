import Logging

/// What a reload does with the configuration file read again: the settings it applies at
/// once, and those that keep their running values until a restart.
public struct ConfigurationReload: Sendable, Equatable {
    /// The configuration in force after the reload: the file's values of the settings a
    /// reload applies, the running values of every other.
    public var configuration: GatewayConfiguration
    /// Changed settings whose new values apply now, by their names in the file.
    public var applied: [String]
    /// Changed settings that only a restart applies (listen addresses, the data directory,
    /// the workers' settings…), by their names in the file.
    public var needsRestart: [String]
}

extension GatewayConfiguration {
    /// Compares the running configuration (`self`) with `new`, read from the file again.
    ///
    /// A reload applies the TLS certificate and key files (read again even when their
    /// names did not change: a renewal rewrites them in place) and `log_level`. Every
    /// other setting is read once, when the listeners bind or the workers start, and a
    /// change to it is reported as needing a restart.
    public func reload(to new: GatewayConfiguration) -> ConfigurationReload {
        var running = self
        var applied: [String] = []
        func take<Value: Equatable>(_ name: String, _ setting: WritableKeyPath<GatewayConfiguration, Value>) {
            guard running[keyPath: setting] != new[keyPath: setting] else { return }
            running[keyPath: setting] = new[keyPath: setting]
            applied.append(name)
        }
        take("tls.certificate_file", \.tls.certificateFile)
        take("tls.private_key_file", \.tls.privateKeyFile)
        take("log_level", \.logLevel)
        var needsRestart = Self.restartSettings.filter { !$0.same(running, new) }.map(\.name)
        // A setting missing from the list above is still never applied silently.
        if needsRestart.isEmpty && running != new { needsRestart = ["other settings"] }
        return ConfigurationReload(configuration: running, applied: applied, needsRestart: needsRestart)
    }

    /// Every setting a reload does not apply, by its name in the file, with how to tell
    /// whether it changed. Listen addresses are named apart from the rest of their section.
    private static var restartSettings: [(name: String, same: (GatewayConfiguration, GatewayConfiguration) -> Bool)] {
        func setting<Value: Equatable>(_ name: String, _ path: KeyPath<GatewayConfiguration, Value>)
            -> (name: String, same: (GatewayConfiguration, GatewayConfiguration) -> Bool) {
            (name, { $0[keyPath: path] == $1[keyPath: path] })
        }
        /// A section but its `listen`.
        func rest<Section: Equatable>(_ name: String, _ path: KeyPath<GatewayConfiguration, Section>, _ listen: WritableKeyPath<Section, [String]>)
            -> (name: String, same: (GatewayConfiguration, GatewayConfiguration) -> Bool) {
            (name, { old, new in
                var a = old[keyPath: path]
                var b = new[keyPath: path]
                a[keyPath: listen] = []
                b[keyPath: listen] = []
                return a == b
            })
        }
        return [
            setting("hostname", \.hostname), setting("data_directory", \.dataDirectory), setting("data_sync", \.dataSync),
            setting("tls.handshake_timeout", \.tls.handshakeTimeout),
            setting("smtp.listen", \.smtp.listen), rest("smtp", \.smtp, \.listen),
            setting("imap.listen", \.imap.listen), rest("imap", \.imap, \.listen), setting("imaps.listen", \.imaps.listen),
            setting("submission.listen", \.submission.listen), rest("submission", \.submission, \.listen),
            setting("submissions.listen", \.submissions.listen),
            setting("api.listen", \.api.listen), rest("api", \.api, \.listen),
            setting("sessions", \.sessions), setting("channels", \.channels), setting("outbound", \.outbound),
            setting("dns", \.dns), setting("dkim", \.dkim), setting("connectors", \.connectors), setting("retention", \.retention),
            setting("auto_replies", \.autoReplies), setting("login", \.login), setting("webhooks", \.webhooks), setting("bots", \.bots),
        ]
    }
}
