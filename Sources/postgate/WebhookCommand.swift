import ArgumentParser
import Foundation
import PostgateDirectory
import PostgateMaildir
import PostgateStore

/// `postgate webhook`: subscriptions to the gateway's events.
struct WebhookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook",
        abstract: "Subscribe other systems to the gateway's events, and follow their deliveries.",
        discussion: """
        Events: \(WebhookRecord.eventTypes.joined(separator: ", ")). Each is POSTed as JSON from \
        a durable outbox, signed as Standard Webhooks specify (webhook-id, webhook-timestamp, \
        webhook-signature headers) with the subscription's secret, shown once when it is made. \
        A delivery not answered with 2xx is tried again, with growing delays, until \
        webhooks.max_age; a session's events reach a subscriber in their order.
        """,
        subcommands: [Add.self, List.self, Show.self, Remove.self, Retry.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Subscribe a URL to events; prints the signing secret once.")

        @Argument(help: "a name for the subscription: a letter or _, then letters, digits, _ (at most 64)")
        var name: String
        @Option(help: ArgumentHelp("where events are POSTed: https://, or http:// to a loopback host", valueName: "URL"))
        var url: String
        @Option(name: .customLong("event"), help: ArgumentHelp("an event type to send (repeatable; default every type)", valueName: "TYPE"))
        var events: [String] = []
        @OptionGroup var options: StoreOptions

        struct Made: Encodable {
            var secret: String
            var webhook: WebhookRecord
        }

        func run() throws {
            let keyPath = options.secretKeyFile
            let (record, secret) = try options.withStore { (store) throws(StoreError) in
                let made = try store.addWebhook(name: name, url: url, events: events, secretKeyPath: keyPath)
                try store.recordAudit(actor: "cli", action: "webhook.add", target: made.0.name, detail: made.0.url)
                return made
            }
            try options.print(Made(secret: secret, webhook: record)) {
                """
                subscribed \(record.name) to \(record.events.joined(separator: ", ")) at \(record.url)
                signing secret: \(secret)
                This is the only time the secret is shown; the subscriber verifies each delivery with it.
                """
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the subscriptions with their waiting and failed deliveries.")
        @OptionGroup var options: StoreOptions

        func run() throws {
            let hooks = try options.withStore { (store) throws(StoreError) in try store.webhooks() }
            try options.print(hooks) {
                guard !hooks.isEmpty else { return "no webhooks; add one with `postgate webhook add NAME --url URL`" }
                return TextTable(headers: ["NAME", "URL", "EVENTS", "PENDING", "FAILED"], rows: hooks.map { h in
                    [h.name, h.url, h.events.joined(separator: ","), String(h.pending), String(h.failed)]
                }).render()
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a subscription's latest deliveries, newest first.")
        @Argument(help: "the subscription's name") var name: String
        @Option(help: ArgumentHelp("at most this many deliveries (1-1000)", valueName: "N")) var limit = 50
        @OptionGroup var options: StoreOptions

        func run() throws {
            guard (1...1000).contains(limit) else { fail("--limit must be 1 to 1000, not \(limit)") }
            let deliveries = try options.withStore { (store) throws(StoreError) in
                guard try store.webhooks().contains(where: { $0.name.lowercased() == name.lowercased() }) else {
                    throw .invalidSetting("there is no webhook named \(name); see `postgate webhook list`")
                }
                return try store.webhookDeliveries(webhook: name, limit: limit)
            }
            try options.print(deliveries) {
                guard !deliveries.isEmpty else { return "\(name): no deliveries yet" }
                return TextTable(headers: ["ID", "EVENT", "TYPE", "SESSION", "STATE", "ATTEMPTS", "LAST"], rows: deliveries.map { d in
                    [String(d.id), d.eventId, d.type, d.sessionId.map(String.init) ?? "-", d.state, String(d.attempts),
                     d.lastError ?? d.lastStatus.map { "HTTP \($0)" } ?? "-"]
                }).render()
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a subscription; its undelivered events are dropped.")
        @Argument(help: "the subscription's name") var name: String
        @OptionGroup var options: StoreOptions

        func run() throws {
            try options.withStore { (store) throws(StoreError) in
                try store.removeWebhook(name: name)
                try store.recordAudit(actor: "cli", action: "webhook.remove", target: name)
            }
            try options.print(["removed": name]) { "removed webhook \(name)" }
        }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a subscription's waiting and given-up deliveries due now.")
        @Argument(help: "the subscription's name") var name: String
        @OptionGroup var options: StoreOptions

        func run() throws {
            let count = try options.withStore { (store) throws(StoreError) in try store.retryWebhookDeliveries(webhook: name) }
            try options.print(["due": count]) { "\(count) deliveries of \(name) are due now" }
        }
    }
}
