import ArgumentParser
import Foundation
import PostgateMessage
import PostgateStore
import PostgateMaildir

/// `postgate erase --customer EMAIL`: erasure of one customer's data on request.
struct EraseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase",
        abstract: "Erase everything stored about one customer: messages, sessions and queued replies.",
        discussion: """
        Removes, from every mailbox (addresses, queues, quarantine, agents' folders), each \
        message the customer sent or received (envelope sender or recipient, From, To or Cc, \
        compared as addresses) or that belongs to one of the customer's sessions; the \
        customer's sessions and their place in others' sessions; and the customer as a \
        recipient of queued replies. A mail client sees the messages gone when it next selects the \
        mailbox. Safe while `postgate serve` runs. Backups made before keep their copies. \
        --dry-run only counts. The erasure is recorded in `postgate audit` (action erase, the \
        customer's address and the counts, never a message's content). With --json: {customer, messages: {path: n}, sessions, \
        participations, outboundRecipients, dryRun}.
        """
    )

    @Option(help: ArgumentHelp("the customer's email address", valueName: "EMAIL"))
    var customer: String

    @Flag(help: "count what would be erased, erase nothing")
    var dryRun = false

    @OptionGroup var options: StoreOptions

    func run() throws {
        let address: EmailAddress
        do { address = try EmailAddress(customer) } catch { fail("--customer \(customer) is not an email address: \(error)") }
        let store = try options.openStore()
        let queue = try options.openOutboundQueue()
        var report = try reportingFailure { () throws(StoreError) in try store.erase(customer: address, dryRun: dryRun) }
        report.outboundRecipients = try reportingFailure { () throws(StoreError) in
            try queue.erase(recipient: address.canonical, dryRun: dryRun)
        }
        try reportingFailure { () throws(StoreError) in try store.recordErasure(report, actor: "cli") }
        try options.print(report) { Self.render(report) }
    }

    static func render(_ report: ErasureReport) -> String {
        let verb = report.dryRun ? "would erase" : "erased"
        var text = "\(verb) for \(report.customer): \(report.messageCount) message(s), \(report.sessions) session(s), "
            + "\(report.participations) participation(s) in other sessions, \(report.outboundRecipients) queued reply recipient(s)\n"
        for (path, count) in report.messages.sorted(by: { $0.key < $1.key }) {
            text += "  \(path): \(count)\n"
        }
        return text
    }
}
