import ArgumentParser
import Foundation
import PostgateMessage
import PostgatePolicy
import PostgateStore
import PostgateMaildir

/// `postgate blocklist …`: the blocklist of each receiving address.
struct BlocklistCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blocklist",
        abstract: "Add, remove, list, search and import the blocked senders of an address.",
        discussion: """
        Each hosted address has its own blocklist of sender addresses and whole domains \
        (bob@example.com, example.com or @example.com; a domain also blocks its subdomains). \
        Mail from a blocked sender (From or envelope sender) is still stored, for audit, \
        but flagged `blocked`: it starts no automation and is never routed to an agent queue. \
        Entries match without regard to case; Unicode and xn-- domains are the same entry. \
        An alias names its address's blocklist. A running `postgate serve` sees changes at once.
        """,
        subcommands: [Add.self, Set.self, Remove.self, List.self, Search.self, Import.self, Sample.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Block one or more senders (addresses or domains).",
            discussion: "All entries are added, or, if one is invalid or already listed, none."
        )

        @Argument(help: "the receiving address whose blocklist it is")
        var address: String

        @Argument(help: "sender addresses or domains to block")
        var entries: [String]

        @OptionGroup var options: StoreOptions

        func run() throws {
            let address = parseAddress(address)
            let entries = entries.map(parseEntry)
            let records = try options.withStore { (store) throws(StoreError) in try store.addToBlocklist(entries, of: address) }
            try options.print(records) { records.map { "blocked \($0.kind.rawValue) \($0.entry) for \($0.address)" }.joined(separator: "\n") }
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change one blocked sender into another, in place.",
            discussion: "The entry keeps its place and creation time; the new one must not be listed already."
        )

        @Argument(help: "the receiving address whose blocklist it is")
        var address: String

        @Argument(help: "the blocked address or domain as listed")
        var entry: String

        @Argument(help: "the address or domain to block instead")
        var replacement: String

        @OptionGroup var options: StoreOptions

        func run() throws {
            let address = parseAddress(address)
            let (old, new) = (parseEntry(entry), parseEntry(replacement))
            let record = try options.withStore { (store) throws(StoreError) in try store.replaceInBlocklist(old, with: new, of: address) }
            try options.print(record) { "blocked \(record.kind.rawValue) \(record.entry) for \(record.address) instead of \(old.display)" }
        }
    }

    struct Sample: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a sample CSV file for `postgate blocklist import`.",
            discussion: "One column headed \"email\", with a sender address, a domain and a domain written with @."
        )

        func run() {
            print(Self.text, terminator: "")
        }

        static let text = "email\r\nspam@example.com\r\nexample.net\r\n@example.org\r\n"
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Unblock a sender address or domain.")

        @Argument(help: "the receiving address whose blocklist it is")
        var address: String

        @Argument(help: "the blocked address or domain, written as when added (any case, Unicode or xn--)")
        var entry: String

        @OptionGroup var options: StoreOptions

        func run() throws {
            let address = parseAddress(address)
            let entry = parseEntry(entry)
            try options.withStore { (store) throws(StoreError) in try store.removeFromBlocklist(entry, of: address) }
            try options.print(Removed(removed: entry.value)) { "unblocked \(entry.display) for \(address.canonicalText)" }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the blocklist of an address.",
            discussion: "With --json: an array of objects with address, kind, entry, value, createdAt."
        )

        @Argument(help: "the receiving address")
        var address: String

        @OptionGroup var options: StoreOptions

        func run() throws {
            try BlocklistCommand.printEntries(of: address, containing: nil, options: options)
        }
    }

    struct Search: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find blocklist entries of an address containing a text.",
            discussion: "Matches the entry as shown and its canonical form, ignoring case. --json as `list`."
        )

        @Argument(help: "the receiving address")
        var address: String

        @Argument(help: "text to look for, e.g. a domain or part of an address")
        var text: String

        @OptionGroup var options: StoreOptions

        func run() throws {
            try BlocklistCommand.printEntries(of: address, containing: text, options: options)
        }
    }

    static func printEntries(of text: String, containing: String?, options: StoreOptions) throws {
        let address = parseAddress(text)
        let records = try options.withStore { (store) throws(StoreError) in try store.blocklist(of: address, containing: containing) }
        try options.print(records) {
            guard !records.isEmpty else {
                return containing == nil ? "the blocklist of \(address.canonicalText) is empty" : "no entry matches '\(containing!)'"
            }
            return TextTable(
                headers: ["ENTRY", "KIND", "ADDED"],
                rows: records.map { [$0.entry, $0.kind.rawValue, $0.createdAt.formatted(.iso8601)] }
            ).render()
        }
    }
}

/// Parses a blocklist entry given on the command line, or exits naming it.
func parseEntry(_ text: String) -> BlocklistEntry {
    do {
        return try BlocklistEntry(parsing: text)
    } catch {
        fail(error.description)
    }
}
