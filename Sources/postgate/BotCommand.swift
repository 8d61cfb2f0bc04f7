import ArgumentParser
import Foundation
import PostgateDirectory
import PostgateMaildir
import PostgateMessage
import PostgateStore

/// `postgate bot`: a bot attached to a channel address.
struct BotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bot",
        abstract: "Attach a bot to an address: it decides on each customer message before people see it.",
        discussion: """
        With a bot, an address's customer messages wait for it: each is POSTed to the bot's URL \
        as a message.received event (the JSON and signature of webhooks, with the bot's secret, \
        shown once). The bot answers within its timeout with {"action": "reply", "text": …, \
        "html": …} (queued as a reply in the session), {"action": "handoff", "queue": …, "note": …} \
        (the message goes to people, and so do the session's next ones), or anything else (the \
        message goes to the queue it was routed to). A message with a transfer keyword goes to \
        people without asking the bot.
        """,
        subcommands: [Set.self, Show.self, Remove.self, Log.self]
    )

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Attach a bot to an address, or change it; a new bot's secret is printed once.")

        @Argument(help: "the address") var email: String
        @Option(help: ArgumentHelp("where events are POSTed: https://, or http:// to a loopback host", valueName: "URL")) var url: String
        @Option(help: ArgumentHelp("seconds the bot has to decide (1-300); then the message goes to the queue", valueName: "S")) var timeout = 10.0
        @Option(name: .customLong("transfer-keyword"), help: ArgumentHelp("a word or phrase that sends a message to people at once (repeatable; replaces the list)", valueName: "TEXT"))
        var transferKeywords: [String] = []
        @Flag(name: .customLong("new-secret"), help: "make a new secret for an existing bot")
        var newSecret = false
        @OptionGroup var options: StoreOptions

        struct Made: Encodable {
            var bot: BotRecord
            var secret: String?

            enum CodingKeys: String, CodingKey { case bot, secret }

            /// `secret` is null when an existing bot keeps its secret: a stable set of keys.
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(bot, forKey: .bot)
                try c.encode(secret, forKey: .secret)
            }
        }

        func run() throws {
            let address = parseAddress(email)
            let keyPath = options.secretKeyFile
            let (record, secret) = try options.withStore { (store) throws(StoreError) in
                let made = try store.setBot(address: address, url: url, timeout: timeout, transferKeywords: transferKeywords,
                                            newSecret: newSecret, secretKeyPath: keyPath)
                try store.recordAudit(actor: "cli", action: "bot.set", target: made.0.address, detail: made.0.url)
                return made
            }
            try options.print(Made(bot: record, secret: secret)) {
                var text = "bot of \(record.address): \(record.url), \(record.timeout) s to decide"
                if !record.transferKeywords.isEmpty { text += ", transfer keywords: " + record.transferKeywords.joined(separator: ", ") }
                if let secret { text += "\nsigning secret: \(secret)\nThis is the only time the secret is shown." }
                return text
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an address's bot (never its secret).")
        @Argument(help: "the address") var email: String
        @OptionGroup var options: StoreOptions

        func run() throws {
            let address = parseAddress(email)
            let bot = try options.withStore { (store) throws(StoreError) in
                guard let (record, _) = try store.bot(of: address) else { throw .invalidSetting("\(address) has no bot; attach one with `postgate bot set`") }
                return record
            }
            try options.print(bot) {
                "bot of \(bot.address): \(bot.url), \(bot.timeout) s to decide, transfer keywords: "
                    + (bot.transferKeywords.isEmpty ? "none" : bot.transferKeywords.joined(separator: ", "))
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Detach an address's bot; messages it holds go to their queues.")
        @Argument(help: "the address") var email: String
        @OptionGroup var options: StoreOptions

        func run() throws {
            let address = parseAddress(email)
            try options.withStore { (store) throws(StoreError) in
                try store.removeBot(address: address)
                try store.recordAudit(actor: "cli", action: "bot.remove", target: address.canonical)
            }
            try options.print(["removed": address.canonical]) { "removed the bot of \(address.canonical)" }
        }
    }

    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The bots' latest decisions, newest first.")
        @Argument(help: "only this address's") var email: String?
        @Option(help: ArgumentHelp("at most this many (1-1000)", valueName: "N")) var limit = 50
        @OptionGroup var options: StoreOptions

        func run() throws {
            guard (1...1000).contains(limit) else { fail("--limit must be 1 to 1000, not \(limit)") }
            let address = email.map(parseAddress)
            let turns = try options.withStore { (store) throws(StoreError) in try store.botTurns(address: address, limit: limit) }
            try options.print(turns) {
                guard !turns.isEmpty else { return "no decisions yet" }
                return TextTable(headers: ["ID", "SESSION", "STATE", "DETAIL"], rows: turns.map { t in
                    [String(t.id), t.sessionId.map(String.init) ?? "-", t.state, t.detail ?? ""]
                }).render()
            }
        }
    }
}
