import ArgumentParser
import Foundation
import PostgateStore
import PostgateMaildir

/// `postgate retention run`: one retention pass by hand.
struct RetentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Delete what the addresses' retention settings no longer keep.",
        subcommands: [Run.self]
    )

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one retention pass now (postgate serve runs one daily, see retention.interval).",
            discussion: """
            For every address with a retention (`postgate address set EMAIL --retention-days N`): \
            its sessions whose last activity is more than N days ago and that are closed or \
            expired, with their messages in the address's mailbox, its quarantine and the \
            queues; and older messages of the address's mailbox and quarantine in no session. \
            Agents' own folders are left alone. --dry-run only counts. Safe while `postgate \
            serve` runs. Each address something was deleted from gets a line in `postgate audit` \
            (action retention.run, with the counts). With --json: {addresses: [{address, retentionDays, messages: {path: n}, sessions}], dryRun}.
            """
        )

        @Flag(help: "count what would be deleted, delete nothing")
        var dryRun = false

        @OptionGroup var options: StoreOptions

        func run() throws {
            let store = try options.openStore()
            let report = try reportingFailure { () throws(StoreError) in
                let report = try store.applyRetention(dryRun: dryRun)
                try store.recordRetention(report, actor: "cli", recordNothing: true)
                return report
            }
            try options.print(report) {
                let verb = report.dryRun ? "would delete" : "deleted"
                var text = "\(verb) \(report.messageCount) message(s) and \(report.sessionCount) session(s)\n"
                for result in report.addresses {
                    text += "  \(result.address) (\(result.retentionDays) days): "
                        + "\(result.messages.values.reduce(0, +)) message(s), \(result.sessions) session(s)\n"
                }
                return text
            }
        }
    }
}
