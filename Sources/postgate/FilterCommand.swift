import ArgumentParser
import PostgateStore
import PostgateMaildir
import PostgateDirectory

/// `postgate filter add|list|remove|move`: the ordered routing rules of an address.
struct FilterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "filter",
        abstract: "Route an address's mail to queues by its sender, recipients, subject, body, importance or any header field.",
        discussion: """
        The rules of an address are tried in order; the first whose keyword occurs in its field \
        (ignoring case and accents) sends the message to its queue; with no match the message \
        goes to the address's default queue. Fields: sender (envelope sender and From), \
        recipient (To, Cc and the delivered-to addresses), subject, body (the decoded text), \
        importance (high, normal or low as the sender marked it: Importance, Priority, \
        X-Priority), and header (--header NAME: the text in any field of that name). Filters \
        take effect at once.
        """,
        subcommands: [Add.self, List.self, Remove.self, Move.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a rule (last, or at --position).")

        @Argument(help: "the address")
        var email: String

        @Option(help: ArgumentHelp("sender, recipient, subject, body, importance or header", valueName: "FIELD"))
        var field: FilterRule.Field

        @Option(help: ArgumentHelp("text to look for; for importance: high, normal or low", valueName: "TEXT"))
        var keyword: String

        @Option(help: ArgumentHelp("with --field header: the header field's name, e.g. X-Customer-Tier", valueName: "NAME"))
        var header: String?

        @Option(help: ArgumentHelp("the queue matching mail goes to", valueName: "QUEUE"))
        var queue: String

        @Option(help: ArgumentHelp("1 for first; default last", valueName: "N"))
        var position: Int?

        @OptionGroup var options: StoreOptions

        func validate() throws {
            if field == .header, header == nil { throw ValidationError("--field header needs the field's name: --header NAME") }
            if field != .header, header != nil { throw ValidationError("--header goes with --field header") }
        }

        func run() throws {
            let address = parseAddress(email)
            let keyword = header.map { "\($0): \(self.keyword)" } ?? self.keyword
            let rule = try options.withStore { (store) throws(StoreError) in
                try store.addFilter(to: address, field: field, keyword: keyword, queue: queue, position: position)
            }
            try options.print(rule) { "added filter \(rule.id) at position \(rule.position): \(rule.summary)" }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List an address's rules in order.",
            discussion: "With --json: an array of objects with id, address, position, field, keyword, queue, createdAt."
        )

        @Argument(help: "the address")
        var email: String

        @OptionGroup var options: StoreOptions

        func run() throws {
            let address = parseAddress(email)
            let rules = try options.withStore { (store) throws(StoreError) in try store.filters(of: address) }
            try options.print(rules) { rules.rendered(emptyText: "\(address.canonicalText) has no filters") }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a rule (by the id `filter list` shows).")

        @Argument(help: "the address")
        var email: String

        @Argument(help: "the rule's id")
        var id: Int64

        @OptionGroup var options: StoreOptions

        func run() throws {
            let address = parseAddress(email)
            try options.withStore { (store) throws(StoreError) in try store.removeFilter(id, of: address) }
            try options.print(Removed(removed: "filter \(id)")) { "removed filter \(id) of \(address.canonicalText)" }
        }
    }

    struct Move: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move a rule to another position (1 first).")

        @Argument(help: "the address")
        var email: String

        @Argument(help: "the rule's id")
        var id: Int64

        @Option(help: ArgumentHelp("new position, 1 first", valueName: "N"))
        var to: Int

        @OptionGroup var options: StoreOptions

        func run() throws {
            let address = parseAddress(email)
            let rules = try options.withStore { (store) throws(StoreError) in try store.moveFilter(id, of: address, to: to) }
            try options.print(rules) { rules.rendered(emptyText: "") }
        }
    }
}

extension FilterRule.Field: ExpressibleByArgument {}

extension FilterRule {
    var summary: String { "\(field.rawValue) contains \"\(keyword)\" → \(queue)" }
}

extension [FilterRule] {
    func rendered(emptyText: String) -> String {
        guard !isEmpty else { return emptyText }
        return TextTable(headers: ["#", "ID", "FIELD", "KEYWORD", "QUEUE"],
                         rows: map { [String($0.position), String($0.id), $0.field.rawValue, $0.keyword, $0.queue] }).render()
    }
}
