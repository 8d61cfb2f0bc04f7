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
        sessions.idle_timeout without mail from the customer's side. The first agent to \
        reply owns a session and finds its messages in the personal folder Mine; `assign` \
        gives it to another agent, `transfer` moves it to another queue (without owner).
        """,
        subcommands: [List.self, Show.self, Assign.self, Transfer.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List sessions, newest activity first.",
            discussion: """
            With --json: an array of objects with id, address, customer, status (open or \
            closed), mode, subject, startedAt, lastActivityAt, expiresAt, previousSessionId, \
            messageCount, participants, owner, queue (where a transfer moved it), awaitingSince.
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
                    headers: ["ID", "ADDRESS", "CUSTOMER", "STATUS", "OWNER", "MESSAGES", "LAST ACTIVITY", "SUBJECT"],
                    rows: sessions.map {
                        [String($0.id), $0.address, $0.customer, $0.status, $0.owner ?? "-", String($0.messageCount),
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
            (as in `session list --json`), messages, each with depth, uid, mailboxPath, \
            from, date, subject, messageId, reason (which match joined it) and snippet, and \
            events (its history: at, kind, actor, agent, fromQueue, toQueue, detail).
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
            if let owner = session.owner { lines.append("owner: \(owner)") }
            if let queue = session.queue { lines.append("queue: \(queue)") }
            for message in thread.messages {
                let indent = String(repeating: "  ", count: message.depth)
                lines.append("\(indent)├ \(message.from ?? "(no sender)")  \(message.date ?? "")  \(message.subject ?? "(no subject)")")
                if !message.snippet.isEmpty { lines.append("\(indent)│   \(message.snippet)") }
            }
            if !thread.events.isEmpty { lines.append("history:") }
            for event in thread.events {
                var line = "  \(event.at.formatted(.iso8601))  \(event.kind) by \(event.actor)"
                if let agent = event.agent, agent != event.actor { line += " → \(agent)" }
                if event.kind == "transferred" { line += ": \(event.fromQueue ?? "-") → \(event.toQueue ?? "-")" }
                if let detail = event.detail { line += " (\(detail))" }
                lines.append(line)
            }
            return lines.joined(separator: "\n")
        }
    }

    struct Assign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a session to an agent: its owner, who finds its messages in the folder Mine.",
            discussion: """
            The agent must see the session (be granted its address or a queue holding its \
            messages). The previous owner's Mine loses the session. Recorded in the session's \
            history. With --json: the session as in `session list --json`.
            """
        )

        @Argument(help: "the session id, from `postgate session list`")
        var id: Int64
        @Argument(help: "the agent's name")
        var agent: String

        @OptionGroup var options: StoreOptions

        func run() throws {
            let session = try options.withStore { (store) throws(StoreError) in
                try store.assignSession(id, to: agent, actor: "cli")
                return try store.sessionThread(id: id).session
            }
            try options.print(session) { "session \(id) is now \(session.owner ?? agent)'s" }
        }
    }

    struct Transfer: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a session to another queue; it loses its owner.",
            discussion: """
            Its messages are filed in the queue, unread, and leave the queues they were in \
            and the owner's Mine; later messages of the session follow. Recorded in the \
            session's history; webhooks get session.transferred. With --json: the session as \
            in `session list --json`.
            """
        )

        @Argument(help: "the session id, from `postgate session list`")
        var id: Int64
        @Argument(help: "the queue's name")
        var queue: String
        @Option(help: ArgumentHelp("a note kept in the session's history", valueName: "TEXT"))
        var note: String?

        @OptionGroup var options: StoreOptions

        func run() throws {
            if let note, note.contains(where: \.isNewline) || note.count > 500 {
                throw ValidationError("--note must be one line of at most 500 characters")
            }
            let session = try options.withStore { (store) throws(StoreError) in
                try store.transferSession(id, to: queue, actor: "cli", detail: note)
                return try store.sessionThread(id: id).session
            }
            try options.print(session) { "session \(id) moved to queue \(session.queue ?? queue)" }
        }
    }
}
