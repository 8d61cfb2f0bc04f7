import ArgumentParser
import Foundation
import NIOPosix
import PostgateGateway
import PostgateOutbound
import PostgateStore
import PostgateMaildir
import PostgateIndex

/// `postgate check`: read-only consistency checks of the configuration and the data directory.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check the configuration, the certificate, the index against the Maildirs, addresses, DKIM keys, connectors and the outbound queue.",
        discussion: """
        Reads only (unless --repair). An index file that is empty or not a database, or a \
        missing session.key beside an index that holds messages, is an error; the store is then \
        not opened, and only the Maildirs at stake are listed. Each finding is ok, warning or error with one line saying \
        what to do; the exit status is 1 when any finding is an error. With --repair, Maildirs \
        the index lost (a blank or replaced postgate.sqlite) get their mailbox back (a lost \
        address is hosted again with default settings, a lost queue added again), and Maildir \
        files that carry a UID (U=) but have no index row are indexed again first; an index \
        SQLite cannot read is first renamed to postgate.sqlite.unreadable-TIME, and a missing \
        session.key made anew (replies to mail sent before then thread by their references \
        only). A configured \
        smarthost is tried as delivery would (connect, EHLO, STARTTLS and AUTH as configured, \
        no message sent): one that does not answer is an error. With --json: \
        {"findings": [{subject, severity, detail}], "errors": N, "warnings": N}.
        """
    )

    @Flag(help: "index again the Maildirs and Maildir files that have no index row (safe while serving); set an unreadable index aside and make a missing session.key anew")
    var repair = false

    @OptionGroup var options: StoreOptions

    /// The JSON shape of the report.
    struct Report: Encodable {
        var findings: [CheckFinding]
        var errors: Int
        var warnings: Int
    }

    func run() async throws {
        let configuration = options.gatewayConfiguration()
        var findings = [CheckFinding("config", .ok, options.configDescription)]
        let store: MailStore
        do {
            store = try MailStore.open(directory: options.dataDirectory, repairing: repair)
        } catch {
            switch error {
            case .indexUnreadable(_, let reason) where repair:
                let aside = try reportingFailure { () throws(StoreError) in try MailStore.setAsideUnreadableIndex(directory: options.dataDirectory) }
                findings.append(CheckFinding("database", .warning, "could not be read (\(reason)); kept as \(aside), a new index is made from the Maildirs"))
                store = try reportingFailure { () throws(StoreError) in try MailStore.open(directory: options.dataDirectory, repairing: true) }
            case .indexUnreadable, .indexEmpty, .sessionKeyMissing:
                // Not opened, so not changed: the reason and what to do, and the Maildirs at stake.
                findings += MailStore.checkUnopened(directory: options.dataDirectory, error: error)
                try report(findings)
                return
            default:
                fail(error.description)
            }
        }
        if repair {
            findings += try reportingFailure { () throws(StoreError) in try store.restoreLostMailboxes() }
            let added = try reportingFailure { () throws(StoreError) in try store.rebuildIndex() }
            findings.append(CheckFinding("repair", .ok, "\(added) message(s) indexed again from the Maildirs"))
        }
        findings.append(TLSMaterial.check(configuration: configuration, dataDirectory: store.dataPath))
        findings += try reportingFailure { () throws(StoreError) in try store.check() }
        let queue = try options.openOutboundQueue()
        findings.append(try reportingFailure { () throws(StoreError) in
            try queue.checkFinding(alertAfter: configuration.outbound.alertAfter)
        })
        if let hop = await Self.nextHopFinding(configuration) { findings.append(hop) }
        try report(findings)
    }

    /// Prints the findings (a table, or JSON) and exits 1 when any is an error.
    private func report(_ findings: [CheckFinding]) throws {
        let report = Report(
            findings: findings, errors: findings.count { $0.severity == .error },
            warnings: findings.count { $0.severity == .warning })
        try options.print(report) { Self.render(report) }
        if report.errors > 0 { throw ExitCode.failure }
    }

    /// The smarthost, when one is configured, tried as delivery would try it (the client's
    /// own timeouts bound each step). Direct MX delivery has no one next hop to try.
    static func nextHopFinding(_ configuration: GatewayConfiguration) async -> CheckFinding? {
        let smarthost = configuration.outbound.smarthost
        guard !smarthost.isEmpty else { return nil }
        let endpoint: SMTPEndpoint
        do {
            guard case .smarthost(let found) = try configuration.outboundNextHop(threadPool: .singleton) else { return nil }
            endpoint = found
        } catch {
            return CheckFinding("next hop", .error, "smarthost \(smarthost): \(error)")
        }
        let client = SMTPClient(configuration: configuration.smtpClientConfiguration, group: MultiThreadedEventLoopGroup.singleton,
                                threadPool: .singleton)
        let steps = await client.probe(endpoint)
        if let failed = steps.first(where: { !$0.ok }) {
            return CheckFinding("next hop", .error,
                                "smarthost \(smarthost) does not answer (\(failed.name): \(failed.detail)); replies wait in the queue until it does")
        }
        return CheckFinding("next hop", .ok, "smarthost \(smarthost) answers (" + steps.map(\.name).joined(separator: ", ") + ")")
    }

    static func render(_ report: Report) -> String {
        let table = TextTable(
            headers: ["STATUS", "SUBJECT", "DETAIL"],
            rows: report.findings.map { [$0.severity.rawValue, $0.subject, $0.detail] }
        ).render()
        return table + "\n\(report.errors) error(s), \(report.warnings) warning(s)\n"
    }
}
