import ArgumentParser
import Foundation
import PostgateDirectory
import PostgateMaildir
import PostgateStore

/// `postgate response add|list|show|remove`: the standard responses agents use.
struct ResponseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "response",
        abstract: "Add, list, show and remove the standard responses agents insert from their mail clients.",
        discussion: """
        Each response (a subject, a text, an optional HTML version and attachments) is a \
        message in a read-only IMAP folder: Shared/Responses for every agent, or \
        Shared/Responses/<queue> for the agents granted that queue. Agents open it with their \
        client's "edit as new" (or "use as template") and send it as their reply.
        """,
        subcommands: [Add.self, List.self, Show.self, Remove.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a standard response (or replace one with --replace).",
            discussion: "With --json: the response as in `response list --json`."
        )

        @Argument(help: "the name: a letter or digit, then letters, digits, '.', '_' or '-' (at most 64)")
        var name: String
        @Option(help: ArgumentHelp("the subject", valueName: "TEXT"))
        var subject: String
        @Option(help: ArgumentHelp("the text (UTF-8)", valueName: "FILE"))
        var text: String
        @Option(help: ArgumentHelp("an HTML version of the text", valueName: "FILE"))
        var html: String?
        @Option(name: .customLong("attach"), help: ArgumentHelp("a file to attach (repeatable; 10 MiB in all)", valueName: "FILE"))
        var attachments: [String] = []
        @Option(help: ArgumentHelp("only the agents of this queue see it (default: every agent)", valueName: "QUEUE"))
        var queue: String?
        @Flag(help: "replace the response of that name")
        var replace = false

        @OptionGroup var options: StoreOptions

        func run() throws {
            let body = Self.readText(text)
            let htmlBody = html.map(Self.readText)
            let files = attachments.map { path in
                guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read the attachment \(path)") }
                let name = URL(fileURLWithPath: path).lastPathComponent
                return ResponseAttachment(filename: name, contentType: ResponseAttachment.contentType(of: name), data: Array(data))
            }
            let record = try options.withStore { (store) throws(StoreError) in
                try store.addResponse(name: name, subject: subject, text: body, html: htmlBody, attachments: files, queue: queue,
                                      replacing: replace)
            }
            try options.print(record) { "\(replace ? "saved" : "added") response \(record.name): agents see it in \(record.folder)" }
        }

        static func readText(_ path: String) -> String {
            guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
            guard let text = String(data: data, encoding: .utf8) else { fail("\(path) is not UTF-8 text") }
            return text
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the standard responses.",
            discussion: "With --json: an array of objects with name, subject, queue, size, attachments, folder, createdAt, updatedAt, mailboxPath, uid."
        )

        @OptionGroup var options: StoreOptions

        func run() throws {
            let responses = try options.withStore { (store) throws(StoreError) in try store.responses() }
            try options.print(responses) {
                guard !responses.isEmpty else { return "no standard responses; add one with `postgate response add NAME …`" }
                return TextTable(
                    headers: ["NAME", "FOLDER", "ATTACHMENTS", "SUBJECT"],
                    rows: responses.map { [$0.name, $0.folder, String($0.attachments.count), $0.subject] }
                ).render()
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a standard response, or with --raw the message agents see.",
            discussion: "With --json: the response as in `response list --json`."
        )

        @Argument(help: "the response's name")
        var name: String
        @Flag(help: "print the stored message (RFC 5322) as it is")
        var raw = false

        @OptionGroup var options: StoreOptions

        func run() throws {
            let (record, message) = try options.withStore { (store) throws(StoreError) in
                (try store.response(named: name), raw ? try store.responseMessage(named: name) : [])
            }
            if raw {
                FileHandle.standardOutput.write(Data(message))
                return
            }
            try options.print(record) {
                [("name", record.name), ("subject", record.subject), ("folder", record.folder),
                 ("attachments", record.attachments.joined(separator: ", ")), ("size", "\(record.size) bytes"),
                 ("updated", record.updatedAt.formatted(.iso8601))]
                    .map { "\($0.0 + ":")\(String(repeating: " ", count: 13 - $0.0.count))\($0.1)" }.joined(separator: "\n")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a standard response; agents' clients see it vanish.")

        @Argument(help: "the response's name")
        var name: String

        @OptionGroup var options: StoreOptions

        func run() throws {
            try options.withStore { (store) throws(StoreError) in try store.removeResponse(named: name) }
            try options.print(Removed(removed: "response \(name)")) { "removed response \(name)" }
        }
    }
}
