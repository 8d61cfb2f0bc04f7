import ArgumentParser
import Foundation
import PostgateMessage
import PostgateStore
import PostgateMaildir
import PostgateDirectory

/// `postgate connector …`: the mailbox connectors (receiving and sending gateways) of addresses.
struct ConnectorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connector",
        abstract: "Set, show, list, test and remove the mailbox connectors (gateways) of addresses.",
        discussion: """
        A receiving gateway fetches an address's mail from the customer's own mailbox (IMAP, \
        RFC 9051 / RFC 3501, POP3, RFC 1939, or Microsoft Graph); a sending gateway sends its \
        replies through the customer's SMTP submission server (RFC 6409) or Microsoft Graph's \
        sendMail. An address has at most one of each. \
        Edits are drafts until `postgate publish` (or --publish): a gateway never published is \
        a Draft, a published one Active. Passwords, OAuth client secrets and refresh tokens are \
        read from a file or standard input, never from the command line, and are stored \
        encrypted (AES-256-GCM) with the key in DATA/secret.key (or channels.secret_key_file of \
        --config), made on first need with mode 0600; they are never shown, logged or exported.
        """,
        subcommands: [Set.self, Show.self, List.self, Status.self, Test.self, Groups.self, Retry.self, Remove.self, Discard.self]
    )

    /// `postgate connector show ADDRESS`.
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the receiving and sending gateway of an address, published and draft.",
            discussion: """
            Each setting is shown published and as drafted; a secret only as set or not set. \
            With --json: {address, receiving, sending}, each null or {status, published, draft, \
            pending}, where published and draft are {settings, secrets} (settings without \
            secrets, secrets {field: "set"|"not set"}) and pending the changes {field, published, \
            draft} that `postgate publish` would make.
            """
        )

        @Argument(help: "the address (not an alias)")
        var email: String

        @OptionGroup var options: StoreOptions

        func run() throws {
            let address = parseAddress(email)
            let (receiving, sending) = try options.withStore { (store) throws(StoreError) in try store.gateways(of: address) }
            let view = ConnectorView(address: address.canonicalText, receiving: receiving.map { GatewayView($0) },
                                     sending: sending.map { GatewayView($0) })
            try options.print(view) {
                var blocks: [String] = []
                if let receiving { blocks.append(Self.block("receiving", receiving)) }
                if let sending { blocks.append(Self.block("sending", sending)) }
                guard !blocks.isEmpty else {
                    return "\(address.canonicalText) has no connector; add one with `postgate connector set \(address.canonicalText) --receiving imap|pop3|graph …` or `--sending …`"
                }
                return blocks.joined(separator: "\n\n")
            }
        }

        private static func block<S: GatewaySettings>(_ name: String, _ record: GatewayRecord<S>) -> String {
            let published = Dictionary(uniqueKeysWithValues: (record.published?.displayFields ?? []).map { ($0.field, $0.value) })
            let draft = Dictionary(uniqueKeysWithValues: (record.draft?.displayFields ?? []).map { ($0.field, $0.value) })
            let fields = Swift.Set(published.keys).union(draft.keys).sorted()
            let state = record.status.rawValue + (record.published != nil && record.draft != nil ? ", draft pending" : "")
            let table = TextTable(headers: [name.uppercased(), "PUBLISHED", "DRAFT"], rows: fields.map { field in
                [field, published[field].map(plainText) ?? "", draft.isEmpty ? "" : (draft[field].map(plainText) ?? "")]
            })
            return "\(name) gateway of \(record.address): \(state)\n" + table.render()
        }
    }

    /// `postgate connector list`.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every gateway with its status and live connection state.",
            discussion: """
            STATUS is Draft (never published) or Active; STATE is what the fetch engine last \
            recorded (connected, idle, failing, cooling-off, skipped, failed), with TRIES as \
            failed attempts n/max, the last error, the end of a cool-off, the last successful fetch and \
            the messages fetched. With --json: an array of {id, address, direction, kind, host, \
            status, hasDraft, maxTries, state}, state null or {state, tries, lastError, \
            coolingUntil, lastAttemptAt, lastSuccessAt, fetched, skipped, updatedAt}.
            """
        )

        @OptionGroup var options: StoreOptions

        func run() throws {
            let listings = try options.withStore { (store) throws(StoreError) in try store.gatewayListings() }
            try options.print(listings) {
                guard !listings.isEmpty else { return "no connectors; add one with `postgate connector set ADDRESS --receiving imap|pop3 --host HOST …`" }
                return TextTable(
                    headers: ["ADDRESS", "DIRECTION", "KIND", "HOST", "STATUS", "STATE", "TRIES", "LAST ERROR", "COOLING UNTIL", "LAST SUCCESS", "FETCHED"],
                    rows: listings.map { g in
                        let state = g.state
                        return [g.address, g.direction.rawValue, g.kind, g.host, g.status.rawValue + (g.hasDraft ? " (draft)" : ""),
                                state?.state.rawValue ?? "-", state.map { "\($0.tries)/\(g.maxTries.map(String.init) ?? "-")" } ?? "",
                                state?.lastError.map(oneLine) ?? "", state?.coolingUntil?.formatted(.iso8601) ?? "",
                                state?.lastSuccessAt?.formatted(.iso8601) ?? "", state.map { String($0.fetched) } ?? ""]
                    }
                ).render()
            }
        }
    }

    /// `postgate connector remove ADDRESS --receiving|--sending`.
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove the receiving or sending gateway of an address, at once.",
            discussion: """
            Removes the published settings, any draft, the live state and the fetch checkpoints; \
            mail already fetched stays. Removing is not a draft: it takes effect at once. With \
            --json: {removed}.
            """
        )

        @Argument(help: "the address (not an alias)")
        var email: String

        @Flag(help: "remove the receiving gateway")
        var receiving = false

        @Flag(help: "remove the sending gateway")
        var sending = false

        @OptionGroup var options: StoreOptions

        func run() throws {
            let address = parseAddress(email)
            guard receiving != sending else { fail("connector remove needs exactly one of --receiving and --sending") }
            let direction: GatewayDirection = receiving ? .receiving : .sending
            try options.withStore { (store) throws(StoreError) in try store.removeGateway(of: address, direction: direction) }
            try options.print(Removed(removed: "\(direction.rawValue) gateway of \(address.canonicalText)")) {
                "removed the \(direction.rawValue) gateway of \(address.canonicalText)"
            }
        }
    }

    /// `postgate connector discard ADDRESS`.
    struct Discard: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drop the pending gateway drafts of an address; the published gateways stay.",
            discussion: """
            Without --receiving or --sending both drafts are dropped. A gateway that was never \
            published is a draft only, so it goes. With --json: {address, discarded: [directions]}.
            """
        )

        @Argument(help: "the address (not an alias)")
        var email: String

        @Flag(help: "only the receiving gateway's draft")
        var receiving = false

        @Flag(help: "only the sending gateway's draft")
        var sending = false

        @OptionGroup var options: StoreOptions

        func run() throws {
            let address = parseAddress(email)
            guard !(receiving && sending) else { fail("give at most one of --receiving and --sending (none drops both drafts)") }
            let direction: GatewayDirection? = receiving ? .receiving : sending ? .sending : nil
            let dropped = try options.withStore { (store) throws(StoreError) in
                try store.discardGatewayDrafts(of: address, direction: direction)
            }
            try options.print(Discarded(address: address.canonicalText, discarded: dropped)) {
                dropped.isEmpty
                    ? "\(address.canonicalText) has no connector draft to discard"
                    : "discarded the \(dropped.map(\.rawValue).joined(separator: " and ")) gateway draft of \(address.canonicalText)"
            }
        }
    }
}

/// `connector show --json`.
struct ConnectorView: Encodable {
    var address: String
    var receiving: GatewayView<ReceivingGatewaySettings>?
    var sending: GatewayView<SendingGatewaySettings>?

    // Absent gateways as null, so scripts see a stable set of keys.
    enum CodingKeys: String, CodingKey { case address, receiving, sending }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(address, forKey: .address)
        try c.encode(receiving, forKey: .receiving)
        try c.encode(sending, forKey: .sending)
    }
}

/// One gateway for display: never a secret, sealed or not.
struct GatewayView<S: GatewaySettings>: Encodable {
    struct Side: Encodable {
        var settings: S
        var secrets: [String: String]

        init(_ settings: S) {
            self.settings = settings.withoutSecrets
            self.secrets = settings.secretStatus
        }
    }

    var status: GatewayStatus
    var published: Side?
    var draft: Side?
    var pending: [ChannelSettings.Change]

    enum CodingKeys: String, CodingKey { case status, published, draft, pending }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(status, forKey: .status)
        try c.encode(published, forKey: .published)
        try c.encode(draft, forKey: .draft)
        try c.encode(pending, forKey: .pending)
    }

    init(_ record: GatewayRecord<S>) {
        status = record.status
        published = record.published.map { Side($0) }
        draft = record.draft.map { Side($0) }
        pending = record.draft?.changes(from: record.published) ?? []
    }
}

struct Discarded: Encodable {
    var address: String
    var discarded: [GatewayDirection]
}

/// A JSON string's text without its quotes, other JSON values as they are.
func plainText(_ json: String) -> String {
    guard json.hasPrefix("\""), let data = json.data(using: .utf8),
          let text = try? JSONDecoder().decode(String.self, from: data) else { return json }
    return oneLine(text)
}

func oneLine(_ text: String) -> String {
    text.split(whereSeparator: \.isNewline).joined(separator: " ")
}
