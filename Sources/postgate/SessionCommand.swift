import ArgumentParser
import Foundation
import PostgateStore
import PostgateMaildir
import PostgateIndex

/// `postgate session …`: the conversation sessions inbound mail was grouped into.
struct SessionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session",
        abstract: "List sessions and show one as a thread.",
        discussion: """
        Every inbound message belongs to a session: one customer's interaction with one \
        hosted address. An address in channel mode keeps one open session per customer; in \
        thread mode each thread (Message-ID, In-Reply-To, References, Postgate's signed \
        reply ids, Outlook's Thread-Index) is its own session. A session closes after \
        sessions.idle_timeout without mail from the customer's side.
        """,
        subcommands: [List.self, Show.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List sessions, newest activity first.",
            discussion: """
            With --json: an array of objects with id, address, customer, status (open or \
            closed), mode, subject, startedAt, lastActivityAt, expiresAt, previousSessionId, \
            messageCount, participants.
            """
        )

        @Option(name: .long, help: ArgumentHelp("only the sessions of this hosted address (or alias)", valueName: "EMAIL"))
        var address: String?

        @Flag(name: .long, help: "only sessions that are still open")
        var open = false

        @OptionGroup var options: StoreOptions

        func run() throws {
            let address = address.map(parseAddress)
            let store = try options.openStore()
            let sessions = try reportingFailure { () throws(StoreError) in
                try store.sessions(address: address, openOnly: open)
            }
            try options.print(sessions) {
                guard !sessions.isEmpty else { return open ? "no open sessions" : "no sessions" }
                return TextTable(
                    headers: ["ID", "ADDRESS", "CUSTOMER", "STATUS", "MESSAGES", "LAST ACTIVITY", "SUBJECT"],
                    rows: sessions.map {
                        [String($0.id), $0.address, $0.customer, $0.status, String($0.messageCount),
                         $0.lastActivityAt.formatted(.iso8601), $0.subject ?? ""]
                    }
                ).render()
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a session and its messages as an indented thread.",
            discussion: """
            Each message on one line: sender, date, subject and a snippet of its text, \
            indented under the message it replies to. With --json: an object with session \
            (as in `session list --json`) and messages, each with depth, uid, mailboxPath, \
            from, date, subject, messageId, reason (which match joined it) and snippet.
            """
        )

        @Argument(help: "the session id, from `postgate session list`")
        var id: Int64

        @OptionGroup var options: StoreOptions

        func run() throws {
            let thread = try options.withStore { (store) throws(StoreError) in try store.sessionThread(id: id) }
            try options.print(thread) { Self.render(thread) }
        }

        static func render(_ thread: SessionThread) -> String {
            let session = thread.session
            var lines = [
                "session \(session.id): \(session.customer) → \(session.address), \(session.status), \(session.mode) mode",
                "participants: \(session.participants.joined(separator: ", "))",
            ]
            if let previous = session.previousSessionId { lines.append("continues session \(previous)") }
            for message in thread.messages {
                let indent = String(repeating: "  ", count: message.depth)
                lines.append("\(indent)├ \(message.from ?? "(no sender)")  \(message.date ?? "")  \(message.subject ?? "(no subject)")")
                if !message.snippet.isEmpty { lines.append("\(indent)│   \(message.snippet)") }
            }
            return lines.joined(separator: "\n")
        }
    }
}
