import ArgumentParser
import Foundation
import PostgateGateway
import PostgateOutbound
import PostgateStore

extension OutboundCommand {
    struct Submit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compose, DKIM-sign and queue the reply on standard input, as the submission listener does.",
            discussion: """
            --from is the channel address the reply is sent as (it must be enabled and its usage \
            allow outbound). The message gets the channel's From, Reply-To, template and threading; \
            its In-Reply-To names the customer message answered. Prints the queued message.
            """
        )

        @Option(help: ArgumentHelp("the channel address to send as", valueName: "ADDRESS"))
        var from: String

        @Option(help: ArgumentHelp("a recipient; repeat for several (Bcc: a recipient not in To or Cc)", valueName: "ADDRESS"))
        var to: [String] = []

        @Option(help: ArgumentHelp("the agent writing it: it must belong to --from; gets the copy in Sent and failures in INBOX", valueName: "NAME"))
        var agent: String?

        @OptionGroup var options: StoreOptions

        func run() throws {
            let configuration = options.gatewayConfiguration()
            let submission = ReplySubmission(store: try options.openStore(), queue: try options.openOutboundQueue(), configuration: configuration)
            let message = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
            let record: OutboundMessageRecord
            do {
                record = try submission.submit(message, from: parseAddress(from), to: to.map(parseAddress), agent: agent)
            } catch {
                fail("\(error)")
            }
            try options.print(record) { "queued outbound message \(record.id) for \(record.recipients.count) recipient(s)" }
        }
    }
}
