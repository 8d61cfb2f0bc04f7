import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import NIOPosix
import PostgateDirectory
import PostgateGateway
import PostgateIndex
import PostgateMaildir
import PostgateMessage
import PostgateStore

extension ConnectorCommand {
    /// `postgate connector test ADDRESS [--receiving|--sending]`.
    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Test a gateway's connection step by step (works on a draft before publishing).",
            discussion: """
            Receiving: opens the stored password (or obtains an access token from the token \
            endpoint), connects and negotiates TLS, authenticates, then lists the folders (IMAP, \
            checking that the mapped ones exist) or counts the messages (POP3). Sending: the \
            same up to authentication over EHLO and STARTTLS, and with --send-to ADDRESS a real \
            test message. Graph: the access token, then the mailbox and its mapped folders \
            (receiving) or the token's Mail.Send permission and the mailbox (sending). Nothing is fetched; the test stops at the first failed step and takes \
            at most a minute. The draft is tested when there is one (--published for the live \
            settings). Exits 1 when a step failed. With --json: {address, direction, settings \
            ("draft" or "published"), ok, steps[{step, ok, detail, milliseconds}]}.
            """
        )

        @Argument(help: "the address (not an alias)")
        var email: String

        @Flag(help: "test the receiving gateway (the default when the address has one)")
        var receiving = false

        @Flag(help: "test the sending gateway")
        var sending = false

        @Flag(help: "test the published settings even when there is a draft")
        var published = false

        @Option(name: .customLong("send-to"), help: ArgumentHelp("sending: also send a test message to ADDRESS", valueName: "ADDRESS"))
        var sendTo: String?

        @OptionGroup var options: StoreOptions

        func validate() throws {
            if receiving && sending { throw ValidationError("give --receiving or --sending, not both") }
            if sendTo != nil && receiving { throw ValidationError("--send-to tests a sending gateway; it cannot go with --receiving") }
        }

        func run() async throws {
            let address = parseAddress(email)
            let recipient = sendTo.map(parseAddress)
            let store = try options.openStore()
            let (receivingRecord, sendingRecord) = try reportingFailure { () throws(StoreError) in try store.gateways(of: address) }
            let direction: GatewayDirection = sending || recipient != nil || (!receiving && receivingRecord == nil) ? .sending : .receiving
            let configuration = options.gatewayConfiguration()
            let httpClient = Gateway.makeHTTPClient(group: MultiThreadedEventLoopGroup.singleton)
            let credentials = Gateway.makeCredentials(
                configuration: configuration, store: store, httpClient: httpClient, threadPool: NIOThreadPool.singleton,
                logger: Logger(label: "postgate.connector"))
            let steps: [GatewayProbeStep]
            let label: String
            switch direction {
            case .receiving:
                let (settings, which) = await chosen(receivingRecord, of: address, shuttingDown: httpClient)
                label = which
                let probe = ReceivingGatewayProbe(
                    gateway: ReceivingGateway(id: 0, address: address, settings: settings), credentials: credentials,
                    eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "postgate.connector"))
                steps = await Self.withinAMinute { await probe.run() }
            case .sending:
                let (settings, which) = await chosen(sendingRecord, of: address, shuttingDown: httpClient)
                label = which
                let probe = SendingGatewayProbe(
                    address: address, settings: settings, credentials: credentials,
                    clientConfiguration: configuration.smtpClientConfiguration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
                    threadPool: NIOThreadPool.singleton, sendTo: recipient, logger: Logger(label: "postgate.connector"))
                steps = await Self.withinAMinute { await probe.run() }
            }
            let report = ProbeReport(address: address.canonicalText, direction: direction.rawValue, settings: label, steps: steps)
            await credentials.shutdown()
            try? await httpClient.shutdown()
            try options.print(report) {
                "\(report.direction) gateway of \(report.address) (\(report.settings) settings):\n" + TextTable(
                    headers: ["STEP", "RESULT", "MS", "DETAIL"],
                    rows: report.steps.map { [$0.step, $0.ok ? "ok" : "FAILED", String($0.milliseconds), oneLine($0.detail)] }
                ).render()
            }
            if !report.ok { throw ExitCode(1) }
        }

        /// The settings to test (the draft unless `--published`) and which they are; fails
        /// with the command to run when there is no such gateway or it was never published.
        private func chosen<Settings: GatewaySettings>(
            _ record: GatewayRecord<Settings>?, of address: EmailAddress, shuttingDown httpClient: HTTPClient
        ) async -> (Settings, String) {
            if let record, let settings = published ? record.published : (record.draft ?? record.published) {
                return (settings, settings == record.draft && !published ? "draft" : "published")
            }
            try? await httpClient.shutdown()
            let direction = Settings.direction.rawValue
            fail(record == nil
                 ? "\(address.canonicalText) has no \(direction) gateway; add one with `postgate connector set \(address.canonicalText) --\(direction) …`"
                 : "\(address.canonicalText)'s \(direction) gateway was never published; test the draft without --published")
        }

        /// Runs `probe`, ending it after a minute with a failed step saying so.
        static func withinAMinute(_ probe: @escaping @Sendable () async -> [GatewayProbeStep]) async -> [GatewayProbeStep] {
            await withTaskGroup(of: [GatewayProbeStep]?.self) { group in
                group.addTask { await probe() }
                group.addTask {
                    try? await Task.sleep(for: .seconds(60))
                    return nil
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first ?? [GatewayProbeStep(step: "test", ok: false, detail: "no answer within a minute", milliseconds: 60_000)]
            }
        }
    }

    /// `postgate connector status [ADDRESS]`.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the live state of receiving gateways: connection, checkpoints, skipped messages.",
            discussion: """
            For each receiving gateway (of ADDRESS, or all): its state (connected, idle, \
            failing with tries n of max and the last error, cooling-off until a time, skipped in \
            a skip window, failed: needs the administrator, see `postgate connector retry`), the \
            last successful fetch, the messages fetched and skipped, each IMAP folder's \
            checkpoint (UIDVALIDITY and last UID), and the latest skipped messages with their \
            remote id and reason. With --json: an array of {address, status, state, folders \
            {name: {uidValidity, lastUID}}, skipped[{folder, remoteID, reason, at}]}.
            """
        )

        @Argument(help: "the address; none shows every receiving gateway")
        var email: String?

        @OptionGroup var options: StoreOptions

        func run() throws {
            let only = email.map(parseAddress)?.canonicalText
            let statuses = try options.withStore { (store) throws(StoreError) -> [GatewayStatusView] in
                var views: [GatewayStatusView] = []
                for listing in try store.gatewayListings() where listing.direction == .receiving && (only == nil || listing.address == only) {
                    views.append(GatewayStatusView(
                        address: listing.address, status: listing.status.rawValue, maxTries: listing.maxTries, state: listing.state,
                        folders: try store.folderCheckpoints(gatewayID: listing.id), skipped: try store.skippedMessages(gatewayID: listing.id)))
                }
                return views
            }
            if let only, statuses.isEmpty { fail("\(only) has no receiving gateway") }
            try options.print(statuses) {
                guard !statuses.isEmpty else { return "no receiving gateways" }
                return statuses.map(\.text).joined(separator: "\n\n")
            }
        }
    }

    /// `postgate connector retry ADDRESS`.
    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a failed or cooling-off receiving gateway again at once.",
            discussion: """
            A gateway that failed again after its cool-off waits for the administrator; fix the \
            cause (the password, the token, the server) and run this. The running server picks \
            it up within connectors.reload_interval seconds. With --json: {address, state}.
            """
        )

        @Argument(help: "the address")
        var email: String

        @OptionGroup var options: StoreOptions

        func run() throws {
            let address = parseAddress(email).canonicalText
            let state = try options.withStore { (store) throws(StoreError) -> GatewayLiveState in
                guard let listing = try store.gatewayListings().first(where: { $0.direction == .receiving && $0.address == address }) else {
                    throw StoreError.invalidSetting("\(address) has no receiving gateway")
                }
                var state = listing.state ?? GatewayLiveState(state: .idle)
                state.state = .idle
                state.tries = 0
                state.coolingUntil = nil
                try store.setLiveState(state, gatewayID: listing.id)
                return state
            }
            try options.print(["address": address, "state": state.state.rawValue]) {
                "\(address): the receiving gateway will try again within the server's reload interval"
            }
        }
    }
}

struct ProbeReport: Encodable {
    var address: String
    var direction: String
    var settings: String
    var ok: Bool { steps.allSatisfy(\.ok) && !steps.isEmpty }
    var steps: [GatewayProbeStep]

    private enum CodingKeys: String, CodingKey { case address, direction, settings, ok, steps }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(address, forKey: .address)
        try c.encode(direction, forKey: .direction)
        try c.encode(settings, forKey: .settings)
        try c.encode(ok, forKey: .ok)
        try c.encode(steps, forKey: .steps)
    }
}

struct GatewayStatusView: Encodable {
    var address: String
    var status: String
    var maxTries: Int?
    var state: GatewayLiveState?
    var folders: [String: FolderCheckpoint]
    var skipped: [SkippedRemoteMessage]

    private enum CodingKeys: String, CodingKey { case address, status, state, folders, skipped }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(address, forKey: .address)
        try c.encode(status, forKey: .status)
        try c.encode(state, forKey: .state)
        try c.encode(folders, forKey: .folders)
        try c.encode(skipped, forKey: .skipped)
    }

    /// The human form: one line per fact.
    var text: String {
        var lines = ["receiving gateway of \(address) (\(status))"]
        if let state {
            var line = "  state: \(state.state.rawValue)"
            if state.tries > 0 { line += ", tries \(state.tries) of \(maxTries.map(String.init) ?? "?")" }
            if let until = state.coolingUntil { line += ", cooling off until \(until.formatted(.iso8601))" }
            lines.append(line)
            if let error = state.lastError { lines.append("  last error: \(oneLine(error))") }
            lines.append("  last success: \(state.lastSuccessAt?.formatted(.iso8601) ?? "never")")
            lines.append("  fetched: \(state.fetched), skipped: \(state.skipped)")
        } else {
            lines.append("  state: not started (the server has not run it yet)")
        }
        for (folder, checkpoint) in folders.sorted(by: { $0.key < $1.key }) {
            lines.append("  folder \(folder): UIDVALIDITY \(checkpoint.uidValidity), last UID \(checkpoint.lastUID)")
        }
        for message in skipped {
            let place = message.folder.isEmpty ? "" : "\(message.folder) "
            lines.append("  skipped \(place)\(message.remoteID) at \(message.at.formatted(.iso8601)): \(oneLine(message.reason))")
        }
        return lines.joined(separator: "\n")
    }
}
