import ArgumentParser
import PostgateStore
import PostgateMaildir

/// `postgate queue add|list|set|remove`: the agents' work queues.
struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Add, list and remove the agents' work queues.",
        discussion: """
        A queue is a shared mailbox (DATA/queues/<name>) where agents work; inbound mail is \
        routed to one by an address's filters, else to the address's default queue. The \
        queue `general` is made on first use by addresses added without --queue. Agents given \
        the queue with `postgate agent grant AGENT QUEUE` see it over IMAP as Shared/Queues/<name>; \
        its flags are shared, or \\Seen is kept per agent with --private-seen.
        """,
        subcommands: [Add.self, List.self, Set.self, Remove.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a queue.")

        @Argument(help: "the name: letters, digits, _ and -, starting with a letter or _")
        var name: String

        @Option(help: ArgumentHelp("what the queue is for", valueName: "TEXT"))
        var description: String?

        @Flag(help: "keep \\Seen per agent in the queue's IMAP folder (default: shared by all agents)")
        var privateSeen = false

        @OptionGroup var options: StoreOptions

        func run() throws {
            let record = try options.withStore { (store) throws(StoreError) in
                try store.addQueue(name, description: description, privateSeen: privateSeen)
            }
            try options.print(record) { "added queue \(record.name) (mailbox \(record.mailboxPath))" }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the queues.",
            discussion: "With --json: an array of objects with name, description, mailboxPath, messageCount, usedBy, privateSeen, createdAt."
        )

        @OptionGroup var options: StoreOptions

        func run() throws {
            let queues = try options.withStore { (store) throws(StoreError) in try store.queues() }
            try options.print(queues) {
                guard !queues.isEmpty else { return "no queues; add one with `postgate queue add NAME`" }
                return TextTable(
                    headers: ["QUEUE", "MESSAGES", "SEEN", "USED BY", "DESCRIPTION"],
                    rows: queues.map {
                        [$0.name, String($0.messageCount), $0.privateSeen ? "private" : "shared",
                         $0.usedBy.joined(separator: ", "), $0.description ?? ""]
                    }
                ).render()
            }
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a queue's settings.",
            discussion: "--private-seen on keeps \\Seen per agent in the queue's IMAP folder; off shares it (the default). Other flags are always shared."
        )

        @Argument(help: "the queue")
        var name: String

        @Option(help: ArgumentHelp("on or off", valueName: "on|off"))
        var privateSeen: String

        @OptionGroup var options: StoreOptions

        func run() throws {
            let enabled = parseOnOff(privateSeen, option: "--private-seen")
            try options.withStore { (store) throws(StoreError) in try store.setPrivateSeen(enabled, of: .queue(name)) }
            try options.print(["queue": name, "privateSeen": privateSeen.lowercased()]) {
                "\\Seen in queue \(name) is now \(enabled ? "private per agent" : "shared")"
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
