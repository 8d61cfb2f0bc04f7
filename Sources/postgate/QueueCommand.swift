import ArgumentParser
import PostgateStore

/// `postgate queue add|list|remove`: the agents' work queues.
struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Add, list and remove the agents' work queues.",
        discussion: """
        A queue is a shared mailbox (DATA/queues/<name>) where agents work; inbound mail is \
        routed to one by an address's filters, else to the address's default queue. The \
        queue `general` is made on first use by addresses added without --queue.
        """,
        subcommands: [Add.self, List.self, Remove.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a queue.")

        @Argument(help: "the name: letters, digits, _ and -, starting with a letter or _")
        var name: String

        @Option(help: ArgumentHelp("what the queue is for", valueName: "TEXT"))
        var description: String?

        @OptionGroup var options: StoreOptions

        func run() throws {
            let record = try options.withStore { (store) throws(StoreError) in try store.addQueue(name, description: description) }
            try options.print(record) { "added queue \(record.name) (mailbox \(record.mailboxPath))" }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the queues.",
            discussion: "With --json: an array of objects with name, description, mailboxPath, messageCount, usedBy, createdAt."
        )

        @OptionGroup var options: StoreOptions

        func run() throws {
            let queues = try options.withStore { (store) throws(StoreError) in try store.queues() }
            try options.print(queues) {
                guard !queues.isEmpty else { return "no queues; add one with `postgate queue add NAME`" }
                return TextTable(
                    headers: ["QUEUE", "MESSAGES", "USED BY", "DESCRIPTION"],
                    rows: queues.map { [$0.name, String($0.messageCount), $0.usedBy.joined(separator: ", "), $0.description ?? ""] }
                ).render()
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a queue no address uses.",
            discussion: "Refused while an address has it as default queue (also in a draft) or in a filter. Its Maildir is kept."
        )

        @Argument(help: "the queue")
        var name: String

        @OptionGroup var options: StoreOptions

        func run() throws {
            try options.withStore { (store) throws(StoreError) in try store.removeQueue(name) }
            try options.print(Removed(removed: name)) { "removed queue \(name) (its Maildir is kept)" }
        }
    }
}
