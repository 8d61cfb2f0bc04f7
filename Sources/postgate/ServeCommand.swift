import ArgumentParser
import Foundation
import Logging
import NIOPosix
import CoreMetrics
import PostgateGateway
import PostgateLogging
import PostgateMetrics
import ServiceLifecycle

/// `postgate serve`: runs the listeners until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway: the inbound SMTP (MX) listener, the IMAP and submission listeners for agents, and the store.",
        discussion: """
        Without --config the embedded default runs: data in ./postgate-data, SMTP on \
        127.0.0.1:2525, IMAP on 127.0.0.1:2143, IMAPS on 127.0.0.1:2993, submission (STARTTLS) on 127.0.0.1:2587, \
        submissions (implicit TLS) on 127.0.0.1:2465, the HTTP API (TLS) on 127.0.0.1:2080, a self-signed \
        certificate made on first start in DATA/certs. \
        Config/postgate.example.yaml names every setting. SIGTERM or SIGINT stops accepting \
        connections, lets transactions in flight finish, then exits. SIGHUP (`postgate reload`) \
        reads the config file and the TLS certificate and key again without closing a session; \
        a config that does not check out is refused and the running one stays. The process id \
        is in DATA/postgate.pid while it runs.
        """
    )

    @Option(name: .long, help: ArgumentHelp("YAML configuration file.", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Data directory (default: the config's data_directory, else $POSTGATE_DATA, else ./postgate-data).", valueName: "dir"))
    var data: String?

    @Option(name: .customLong("smtp-listen"), help: ArgumentHelp("Address for the SMTP listener, host:port; repeat for several. Replaces the config's smtp.listen.", valueName: "host:port"))
    var smtpListen: [String] = []

    @Option(name: .customLong("imap-listen"), help: ArgumentHelp("Address for the IMAP (STARTTLS) listener, host:port; repeat for several. Replaces the config's imap.listen.", valueName: "host:port"))
    var imapListen: [String] = []

    @Option(name: .customLong("imaps-listen"), help: ArgumentHelp("Address for the IMAPS (implicit TLS) listener, host:port; repeat for several. Replaces the config's imaps.listen.", valueName: "host:port"))
    var imapsListen: [String] = []

    @Option(name: .customLong("submission-listen"), help: ArgumentHelp("Address for the submission (STARTTLS) listener, host:port; repeat for several. Replaces the config's submission.listen.", valueName: "host:port"))
    var submissionListen: [String] = []

    @Option(name: .customLong("submissions-listen"), help: ArgumentHelp("Address for the submissions (implicit TLS) listener, host:port; repeat for several. Replaces the config's submissions.listen.", valueName: "host:port"))
    var submissionsListen: [String] = []

    @Option(name: .customLong("log-level"), help: ArgumentHelp("trace, debug, info, notice, warning, error or critical (default: the config's log_level).", valueName: "level"))
    var logLevel: String?

    @Option(name: .customLong("log-format"), help: ArgumentHelp("logfmt or json (default: the config's log_format).", valueName: "format"))
    var logFormat: String?

    func run() async throws {
        // The gateway's pool for blocking work, started here so that reading the
        // configuration file does not block this task's thread either.
        let threadPool = Gateway.makeThreadPool()
        threadPool.start()
        let configuration: GatewayConfiguration
        do {
            let file = config
            configuration = try await threadPool.runIfActive { try Self.loadConfiguration(file) }
        } catch {
            try? await threadPool.shutdownGracefully()
            throw error
        }
        try await run(configuration, threadPool: threadPool)
    }

    /// What the command line sets over the file, at start and at every reload.
    private struct Overrides: Sendable {
        var smtpListen, imapListen, imapsListen, submissionListen, submissionsListen: [String]
        var logLevel: Logger.Level?
        var logFormat: LogLineFormat?

        func apply(to loaded: GatewayConfiguration) -> GatewayConfiguration {
            var configuration = loaded
            if !smtpListen.isEmpty { configuration.smtp.listen = smtpListen }
            if !imapListen.isEmpty { configuration.imap.listen = imapListen }
            if !imapsListen.isEmpty { configuration.imaps.listen = imapsListen }
            if !submissionListen.isEmpty { configuration.submission.listen = submissionListen }
            if !submissionsListen.isEmpty { configuration.submissions.listen = submissionsListen }
            if let logLevel { configuration.logLevel = logLevel }
            if let logFormat { configuration.logFormat = logFormat }
            return configuration
        }
    }

    private func run(_ loaded: GatewayConfiguration, threadPool: NIOThreadPool) async throws {
        var level: Logger.Level?
        if let logLevel {
            guard let parsed = Logger.Level(rawValue: logLevel) else {
                try? await threadPool.shutdownGracefully()
                throw ValidationError("--log-level \(logLevel) is not one of trace, debug, info, notice, warning, error, critical")
            }
            level = parsed
        }
        var format: LogLineFormat?
        if let logFormat {
            guard let parsed = LogLineFormat(rawValue: logFormat) else {
                try? await threadPool.shutdownGracefully()
                throw ValidationError("--log-format \(logFormat) is not one of logfmt, json")
            }
            format = parsed
        }
        let overrides = Overrides(smtpListen: smtpListen, imapListen: imapListen, imapsListen: imapsListen,
                                  submissionListen: submissionListen, submissionsListen: submissionsListen, logLevel: level,
                                  logFormat: format)
        let configuration = overrides.apply(to: loaded)
        let levels = LogLevelSwitch(configuration.logLevel)
        let lineFormat = configuration.logFormat
        LoggingSystem.bootstrap { _ in levels.handler(LogLineHandler(format: lineFormat, level: .trace)) }
        let logger = Logger(label: "postgate")
        // One registry for the process: the gateway's metrics, and those of any library that
        // records through swift-metrics, are all on the API's /metrics.
        let metrics = GatewayMetrics()
        MetricsSystem.bootstrap(metrics.factory)
        let file = config.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        let source = Gateway.ConfigurationSource(file: file) { try overrides.apply(to: Self.loadConfiguration(file)) }
        let gateway = Gateway(configuration: configuration, dataDirectory: Self.dataDirectory(data: data, config: config, configuration),
                              logger: logger, threadPool: threadPool, metrics: metrics, configurationSource: source, logLevel: levels)
        // The group traps SIGTERM and SIGINT before the gateway binds its listeners, so a
        // signal sent as soon as the port answers is a graceful shutdown.
        let group = ServiceGroup(configuration: .init(
            services: [gateway],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        do {
            try await group.run()
        } catch {
            FileHandle.standardError.write(Data("postgate: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    /// Runs on the thread pool: reads and checks the file.
    static func loadConfiguration(_ config: String?) throws -> GatewayConfiguration {
        guard let config else { return GatewayConfiguration.embeddedDefault }
        do {
            return try GatewayConfiguration.load(file: config)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// --data wins, then the config file's setting, then $POSTGATE_DATA, then the default.
    static func dataDirectory(data: String?, config: String?, _ configuration: GatewayConfiguration) -> String {
        if let data { return data }
        if config != nil, configuration.dataDirectory != GatewayConfiguration().dataDirectory { return configuration.dataDirectory }
        return ProcessInfo.processInfo.environment["POSTGATE_DATA"] ?? configuration.dataDirectory
    }
}
