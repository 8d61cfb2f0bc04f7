import ArgumentParser
import Foundation
import PostgateOutbound
import PostgateStore
import PostgateMaildir

/// `postgate outbound list|show|retry|drop|flush`: the delivery queue of replies.
struct OutboundCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbound",
        abstract: "Look at and act on the outbound delivery queue.",
        discussion: """
        Every queued message has one row per recipient: queued (not tried yet), deferred \
        (a temporary failure; tried again by the retry schedule, outbound.retry), delivered \
        (the next hop answered 250) or failed (a 5xx reply, or the lifetime ran out). \
        Message files are kept in DATA/outbound/ until no recipient is left to try.
        """,
        subcommands: [List.self, Show.self, Retry.self, Drop.self, Flush.self, Submit.self, Run.self, Enqueue.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the queued messages.",
            discussion: "With --json: an array of messages (id, filename, sender, size, createdAt, expiresAt, recipients[id, address, state, attempts, nextAttemptAt, lastAttemptAt, lastReply], and autoReply: in or out for an auto-reply)."
        )

        @Flag(help: "only messages with a recipient still queued or deferred")
        var pending = false

        @OptionGroup var options: StoreOptions

        func run() throws {
            let queue = try options.openOutboundQueue()
            let messages = try reportingFailure { () throws(StoreError) in try queue.messages(pendingOnly: pending) }
            try options.print(messages) {
                guard !messages.isEmpty else { return "the outbound queue is empty" }
                return TextTable(
                    headers: ["ID", "STATE", "SENDER", "SIZE", "RECIPIENTS"],
                    rows: messages.map { message in
                        [String(message.id) + (message.autoReply == nil ? "" : " (auto)"), message.state,
                         message.sender.isEmpty ? "<>" : message.sender, String(message.size),
                         message.recipients.map { "\($0.address) (\($0.state.rawValue))" }.joined(separator: ", ")]
                    }
                ).render()
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one message and every recipient's state and last reply.")

        @Argument(help: "the message id (see `postgate outbound list`)")
        var id: Int64

        @OptionGroup var options: StoreOptions

        func run() throws {
            let queue = try options.openOutboundQueue()
            let message = try reportingFailure { () throws(OutboundQueueError) in try queue.message(id) }
            try options.print(message) {
                let formatter = ISO8601DateFormatter()
                let head = """
                    message \(message.id) (\(message.state)) from \(message.sender.isEmpty ? "<>" : message.sender), \(message.size) bytes
                    queued \(formatter.string(from: message.createdAt)), gives up \(formatter.string(from: message.expiresAt))
                    """
                let table = TextTable(
                    headers: ["RECIPIENT", "STATE", "ATTEMPTS", "NEXT ATTEMPT", "LAST REPLY"],
                    rows: message.recipients.map { r in
                        [r.address, r.state.rawValue, String(r.attempts),
                         r.state == .queued || r.state == .deferred ? formatter.string(from: r.nextAttemptAt) : "-", r.lastReply ?? ""]
                    }
                ).render()
                return head + "\n" + table
            }
        }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make deferred recipients due now.",
            discussion: "The running worker (or `postgate outbound flush`) tries them at its next look at the queue."
        )

        @Argument(help: "the message id; every message when left out")
        var id: Int64?

        @OptionGroup var options: StoreOptions

        func run() throws {
            let queue = try options.openOutboundQueue()
            let count = try reportingFailure { () throws(OutboundQueueError) in try queue.retry(id) }
            try options.print(["due": count]) { "\(count) recipient\(count == 1 ? "" : "s") due now" }
        }
    }

    struct Drop: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a message from the queue, whatever its recipients' state.",
            discussion: "Its recipients that were not delivered will never get it; no notification is sent."
        )

        @Argument(help: "the message id")
        var id: Int64

        @OptionGroup var options: StoreOptions

        func run() throws {
            let queue = try options.openOutboundQueue()
            try reportingFailure { () throws(OutboundQueueError) in try queue.drop(id) }
            try options.print(Removed(removed: String(id))) { "dropped outbound message \(id)" }
        }
    }
}
