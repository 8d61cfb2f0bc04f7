import ArgumentParser
import Foundation
import PostgateMessage
import PostgateStore
import PostgateMaildir
import PostgateIndex

/// `postgate quarantine …`: the messages the inbound policy held back.
struct QuarantineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarantine",
        abstract: "List, show, release and delete the messages the inbound policy held back.",
        discussion: """
        A message is quarantined for an address when its sender's domain is not among the \
        allowed domains, or (sync when recipient only) the address is not in To or Cc. It is \
        stored durably in DATA/quarantine/<domain>/<local-part> (a Maildir no agent sees), \
        with the reason. Release delivers it to the address's mailbox as an ordinary message; \
        delete removes it. Nothing is dropped without one of the two.
        """,
        subcommands: [List.self, Show.self, Release.self, Delete.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List quarantined messages, oldest first.",
            discussion: """
            With --json: an array of objects with id, address, reason, receivedAt, mailFrom, \
            from, to, subject, size, mailboxPath, filename.
            """
        )

        @Option(name: .long, help: ArgumentHelp("only the messages held for this address (or alias)", valueName: "EMAIL"))
        var address: String?

        @OptionGroup var options: StoreOptions

        func run() throws {
            let address = address.map(parseAddress)
            let held = try options.withStore { (store) throws(StoreError) in try store.quarantined(address: address) }
            try options.print(held) {
                guard !held.isEmpty else { return "the quarantine is empty" }
                return TextTable(
                    headers: ["ID", "ADDRESS", "REASON", "RECEIVED", "FROM", "SUBJECT"],
                    rows: held.map {
                        [String($0.id), $0.address, $0.reason, $0.message.internalDate.formatted(.iso8601),
                         $0.message.headerFrom ?? $0.message.mailFrom, $0.message.subject ?? ""]
                    }
                ).render()
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one quarantined message: why it is held, its envelope and file.",
            discussion: "With --json: one object with the keys of `list --json` and file."
        )

        @Argument(help: "the id from `postgate quarantine list`")
        var id: Int64

        @OptionGroup var options: StoreOptions

        func run() throws {
            let (held, file) = try options.withStore { (store) throws(StoreError) in
                let held = try store.quarantined(id: id)
                return (held, try store.quarantinedFile(held))
            }
            try options.print(QuarantineDetails(message: held, file: file)) {
                let fields: [(String, String)] = [
                    ("id", String(held.id)), ("address", held.address), ("reason", held.reason),
                    ("received", held.message.internalDate.formatted(.iso8601)),
                    ("mail from", "<\(held.message.mailFrom)>"), ("rcpt to", held.message.rcptTo),
                    ("from", held.message.headerFrom ?? ""), ("to", held.message.headerTo ?? ""),
                    ("cc", held.message.headerCc ?? ""), ("subject", held.message.subject ?? ""),
                    ("size", String(held.message.size)), ("file", file ?? "(missing)"),
                ]
                let width = fields.map(\.0.count).max()! + 2
                return fields.map { ($0.0 + ":").padding(toLength: width, withPad: " ", startingAt: 0) + $0.1 }.joined(separator: "\n")
            }
        }
    }

    struct Release: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deliver a quarantined message to its address's mailbox.",
            discussion: "The message becomes an ordinary message of the mailbox, with a new UID, and leaves the quarantine."
        )

        @Argument(help: "the id from `postgate quarantine list`")
        var id: Int64

        @OptionGroup var options: StoreOptions

        func run() throws {
            let stored = try options.withStore { (store) throws(StoreError) in try store.release(quarantinedID: id) }
            try options.print(stored) { "released message \(id) into \(stored.mailboxPath) (UID \(stored.uid))" }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a quarantined message for good.",
            discussion: "Its file and its row are removed."
        )

        @Argument(help: "the id from `postgate quarantine list`")
        var id: Int64

        @OptionGroup var options: StoreOptions

        func run() throws {
            try options.withStore { (store) throws(StoreError) in try store.deleteQuarantined(id: id) }
            try options.print(Removed(removed: String(id))) { "deleted quarantined message \(id)" }
        }
    }
}

/// `quarantine show --json`: the message's keys plus its file.
private struct QuarantineDetails: Encodable {
    var message: QuarantinedMessage
    var file: String?

    func encode(to encoder: any Encoder) throws {
        try message.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(file, forKey: .file)
    }

    private enum Key: String, CodingKey { case file }
}
