import ArgumentParser
import Foundation
import PostgateDirectory
import PostgateMaildir
import PostgateStore

/// `postgate token`: API tokens for the HTTP API.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Make, list and revoke API tokens for the HTTP API.",
        discussion: """
        A token is sent as `Authorization: Bearer TOKEN`. It is shown once, when made: the gateway \
        keeps only its SHA-256. Scopes: read (every GET), admin (read and every change), bot (a \
        bot's answers). Each token has a rate (requests a minute); beyond it the API answers 429.
        """,
        subcommands: [Add.self, List.self, Revoke.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a token and print it (the only time it is shown).")

        @Argument(help: "a name for the token: a letter or _, then letters, digits, _ (at most 64)")
        var name: String
        @Option(name: .customLong("scope"), help: ArgumentHelp("read, admin or bot (repeatable)", valueName: "SCOPE"))
        var scopes: [APITokenScope] = []
        @Option(help: ArgumentHelp("requests a minute the token may make (1-100000)", valueName: "N"))
        var rate = 600
        @OptionGroup var options: StoreOptions

        struct Made: Encodable {
            var token: String
            var record: APITokenRecord
        }

        func run() throws {
            guard !scopes.isEmpty else { fail("--scope is required: read, admin or bot") }
            let (record, text) = try options.withStore { (store) throws(StoreError) in
                let made = try store.addToken(name: name, scopes: scopes, ratePerMinute: rate)
                try store.recordAudit(actor: "cli", action: "token.add", target: made.0.name,
                                      detail: "scopes \(made.0.scopes.map(\.rawValue).joined(separator: ",")), rate \(made.0.ratePerMinute)")
                return made
            }
            try options.print(Made(token: text.text, record: record)) {
                """
                made token \(record.name) (\(record.scopes.map(\.rawValue).joined(separator: ", ")); \(record.ratePerMinute) requests a minute)
                \(text.text)
                This is the only time the token is shown; keep it in a secret store.
                """
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tokens (never their secrets).")

        @Flag(help: "also the revoked tokens")
        var all = false
        @OptionGroup var options: StoreOptions

        func run() throws {
            let tokens = try options.withStore { (store) throws(StoreError) in try store.tokens(includingRevoked: all) }
            try options.print(tokens) {
                guard !tokens.isEmpty else { return "no tokens; make one with `postgate token add NAME --scope read`" }
                return TextTable(headers: ["NAME", "SCOPES", "RATE/MIN", "CREATED", "LAST USED", "REVOKED"], rows: tokens.map { t in
                    [t.name, t.scopes.map(\.rawValue).joined(separator: ","), String(t.ratePerMinute), t.createdAt.formatted(.iso8601),
                     t.lastUsedAt?.formatted(.iso8601) ?? "-", t.revokedAt?.formatted(.iso8601) ?? "-"]
                }).render()
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token: its next request is refused (401).")

        @Argument(help: "the token's name")
        var name: String
        @OptionGroup var options: StoreOptions

        func run() throws {
            let record = try options.withStore { (store) throws(StoreError) in
                let record = try store.revokeToken(name: name)
                try store.recordAudit(actor: "cli", action: "token.revoke", target: record.name)
                return record
            }
            try options.print(record) { "revoked token \(record.name)" }
        }
    }
}

extension APITokenScope: ExpressibleByArgument {}

/// `postgate audit`: the audit log of changes.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Show the audit log of changes, newest first: who (an API token, or the command line), what, on what.",
        discussion: "Publications of address settings have their own history too (`postgate publish --history`)."
    )

    @Option(help: ArgumentHelp("at most this many events (1-10000)", valueName: "N"))
    var limit = 100
    @OptionGroup var options: StoreOptions

    func run() throws {
        guard (1...10_000).contains(limit) else { fail("--limit must be 1 to 10000, not \(limit)") }
        let events = try options.withStore { (store) throws(StoreError) in try store.auditEvents(limit: limit) }
        try options.print(events) {
            guard !events.isEmpty else { return "the audit log is empty" }
            return TextTable(headers: ["ID", "AT", "ACTOR", "ACTION", "TARGET", "DETAIL"], rows: events.map { e in
                [String(e.id), e.at.formatted(.iso8601), e.actor, e.action, e.target, e.detail ?? ""]
            }).render()
        }
    }
}
