import ArgumentParser
import PostgateMessage
import PostgateStore
import PostgateMaildir
import PostgateDirectory

/// `postgate address …`: the hosted addresses, their display names, aliases and state.
struct AddressCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "address",
        abstract: "Add, list, show, edit and remove hosted addresses and their aliases.",
        discussion: """
        Each hosted address has its own Maildir under DATA/maildir/<domain>/<local-part>. \
        Aliases are other names delivering to the same mailbox. Local parts match without \
        regard to case. Removing an address keeps its Maildir; adding it again reuses it, \
        with the same UIDVALIDITY and UIDs. A new address is live at once; later edits \
        (set, enable, disable, set-name, alias) are drafts until `postgate publish` (or \
        --publish), and a running `postgate serve` applies a publish at once.
        """,
        subcommands: [Add.self, List.self, Show.self, Set.self, Diff.self, Discard.self, Remove.self,
                      Enable.self, Disable.self, SetName.self, Alias.self, Preview.self, AutoReply.self, Confirmations.self,
                      Hours.self, VerifyForwarding.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Host an address, with a Maildir of its own.",
            discussion: """
            The domain must be hosted (`postgate domain add`), and neither the address nor \
            any alias may already be in use; a standard or advanced custom domain holds at most \
            its kind's number of addresses (channels.limits). Without --queue the address routes \
            to the queue `general`, made on first use. Nothing is added unless everything can be. \
            Further settings: `postgate address set`.
            """
        )

        @Argument(help: "the address, e.g. support@acme.example")
        var email: String

        @Option(name: .long, help: ArgumentHelp("display name, e.g. \"Acme Support\"", valueName: "NAME"))
        var name: String?

        @Option(name: .long, help: ArgumentHelp("another address delivering to this one; repeatable", valueName: "EMAIL"))
        var alias: [String] = []

        @Option(help: ArgumentHelp("default queue (default: general)", valueName: "QUEUE"))
        var queue: String?

        @Option(help: ArgumentHelp("inbound, outbound or both (default both)", valueName: "USAGE"))
        var usage: AddressUsage = .both

        @Flag(help: "add it disabled: mail for it is refused until `postgate address enable`")
        var disabled = false

        @OptionGroup var options: StoreOptions

        func run() throws {
            let address = parseAddress(email)
            let aliases = alias.map(parseAddress)
            var settings = ChannelSettings()
            settings.displayName = name
            settings.enabled = !disabled
            settings.defaultQueue = queue
            settings.usage = usage
            let store = try options.openStore()
            let limits = options.channelLimits()
            let record = try reportingFailure { () throws(StoreError) in
                try store.addAddress(address, settings: settings, aliases: aliases, limits: limits)
            }
            try options.print(record) { "added address \(record.email) (mailbox \(record.mailboxPath))" }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the hosted addresses.",
            discussion: """
            --search matches the address, display name, channel name and aliases (any case); the \
            other filters combine with it. HEALTH is Inactive for a disabled address, Attention \
            for an enabled one whose gateway fails (failing, cooling off, failed) or whose custom \
            domain's DKIM record or ownership is not verified, else Active. With --json: an \
            array of objects with email, displayName, channelName, enabled, aliases, usage, \
            defaultQueue, domainKind, hasDraft, settings, mailboxPath, messageCount, createdAt, \
            health, healthReasons, lastMessageAt, filterCount.
            """
        )

        @Option(name: .long, help: ArgumentHelp("only the addresses of this domain", valueName: "DOMAIN"))
        var domain: String?
        @Option(name: .long, help: ArgumentHelp("only addresses whose address, names or aliases contain TEXT", valueName: "TEXT"))
        var search: String?
        @Option(name: .long, help: ArgumentHelp("only addresses of this usage: inbound, outbound or both", valueName: "USAGE"))
        var usage: AddressUsage?
        @Option(name: .long, help: ArgumentHelp("only enabled (true) or disabled (false) addresses", valueName: "true|false"))
        var enabled: Bool?
        @Option(name: .long, help: ArgumentHelp("only addresses whose default queue is QUEUE", valueName: "QUEUE"))
        var queue: String?
        @Option(name: .long, help: ArgumentHelp("only addresses on domains of this kind: \(DomainKind.allCases.map(\.rawValue).joined(separator: ", "))", valueName: "KIND"))
        var kind: DomainKind?
        @Option(name: .long, help: ArgumentHelp("only addresses of this health: active, inactive or attention", valueName: "HEALTH"))
        var health: HealthFilter?

        enum HealthFilter: String, ExpressibleByArgument, CaseIterable {
            case active, inactive, attention
        }

        @OptionGroup var options: StoreOptions

        func run() throws {
            let domain = domain.map(parseDomain)
            let store = try options.openStore()
            let all = try reportingFailure { () throws(StoreError) in try store.addresses(domain: domain) }
            let listings = try AddressListing.listings(all.filter(matches), store: store)
                .filter { health == nil || $0.health.rawValue.lowercased() == health?.rawValue }
            try options.print(listings) {
                guard !listings.isEmpty else {
                    return all.isEmpty ? "no addresses; add one with `postgate address add EMAIL`" : "no address matches"
                }
                return TextTable(
                    headers: ["ADDRESS", "NAME", "CHANNEL", "HEALTH", "USAGE", "QUEUE", "FILTERS", "ALIASES", "MESSAGES", "LAST MESSAGE", "DRAFT"],
                    rows: listings.map { listing in
                        let r = listing.record
                        return [r.email, r.displayName ?? "", r.settings.channelName ?? "",
                                listing.health.rawValue + (listing.reasons.isEmpty ? "" : " (" + listing.reasons.joined(separator: ", ") + ")"),
                                r.settings.usage.rawValue, r.settings.defaultQueue ?? "", String(listing.filterCount), r.aliases.joined(separator: ", "),
                                String(r.messageCount), listing.lastMessageAt?.formatted(.iso8601) ?? "-", r.hasDraft ? "pending" : ""]
                    }
                ).render()
            }
        }

        private func matches(_ record: AddressRecord) -> Bool {
            if let usage, record.settings.usage != usage { return false }
            if let enabled, record.enabled != enabled { return false }
            if let queue, record.settings.defaultQueue?.lowercased() != queue.lowercased() { return false }
            if let kind, record.domainKind != kind { return false }
            if let search, !search.isEmpty {
                let needle = search.lowercased()
                let haystack = [record.email, record.displayName ?? "", record.settings.channelName ?? ""] + record.aliases
                guard haystack.contains(where: { $0.lowercased().contains(needle) }) else { return false }
            }
            return true
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one address (given by the address or one of its aliases).",
            discussion: "With --json: one object with the keys of `postgate address list --json`."
        )

        @Argument(help: "the address or an alias of it")
        var email: String

        @OptionGroup var options: StoreOptions

        func run() throws {
            let address = parseAddress(email)
            let found = try options.withStore { (store) throws(StoreError) in try store.address(address) }
            guard let record = found else { fail(StoreError.addressNotFound(address).description) }
            try options.print(record) { record.details }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop hosting an address and its aliases.",
            discussion: "Its Maildir and messages are kept; adding the address again reuses them."
        )

        @Argument(help: "the address (not an alias)")
        var email: String

        @OptionGroup var options: StoreOptions

        func run() throws {
            let address = parseAddress(email)
            try options.withStore { (store) throws(StoreError) in try store.removeAddress(address) }
            try options.print(Removed(removed: address.canonicalText)) {
                "removed address \(address.canonicalText) (its Maildir is kept)"
            }
        }
    }

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accept mail for an address (and its aliases) again (a draft until published).",
            discussion: "Refused while the address has no default queue (set one with `postgate address set EMAIL --queue NAME`): the queue its mail goes to when no filter matches. See `postgate address disable`."
        )

        @Argument(help: "the address (not an alias)")
        var email: String

        @OptionGroup var publishing: PublishNow
        @OptionGroup var options: StoreOptions

        func run() throws {
            try editAndReport(email, publishing: publishing, options: options) { $0.enabled = true }
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Refuse mail for an address and its aliases (a draft until published).",
            discussion: "Once published, SMTP answers 550 5.2.1 for it; its mailbox stays readable."
        )

        @Argument(help: "the address (not an alias)")
        var email: String

        @OptionGroup var publishing: PublishNow
        @OptionGroup var options: StoreOptions

        func run() throws {
            try editAndReport(email, publishing: publishing, options: options) { $0.enabled = false }
        }
    }

    struct SetName: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-name",
            abstract: "Set or clear an address's display name.",
            discussion: "The display name is the phrase shown with the address on replies; an empty NAME clears it."
        )

        @Argument(help: "the address (not an alias)")
        var email: String

        @Argument(help: "the display name, e.g. \"Acme Support\"; \"\" clears it")
        var name: String

        @OptionGroup var publishing: PublishNow
        @OptionGroup var options: StoreOptions

        func run() throws {
            try editAndReport(email, publishing: publishing, options: options) { $0.displayName = name.isEmpty ? nil : name }
        }
    }
}

extension AddressCommand {
    /// `postgate address alias add|remove EMAIL ALIAS`.
    struct Alias: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add or remove an alias of an address.",
            discussion: """
            An alias is another address, in any hosted domain, whose mail goes to the same \
            mailbox. It may not be in use as an address or as another alias.
            """,
            subcommands: [Add.self, Remove.self]
        )

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add an alias to an address.")

            @Argument(help: "the address")
            var email: String

            @Argument(help: "the alias to add")
            var alias: String

            @OptionGroup var publishing: PublishNow
            @OptionGroup var options: StoreOptions

            func run() throws {
                let alias = parseAddress(alias).canonicalText
                try editAndReport(email, publishing: publishing, options: options) { $0.aliases.append(alias) }
            }
        }

        struct Remove: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove an alias from an address.")

            @Argument(help: "the address")
            var email: String

            @Argument(help: "the alias to remove")
            var alias: String

            @OptionGroup var publishing: PublishNow
            @OptionGroup var options: StoreOptions

            func run() throws {
                let (owner, alias) = (parseAddress(email), parseAddress(alias))
                try editAndReport(email, publishing: publishing, options: options) { (settings) throws(StoreError) in
                    guard let index = settings.aliases.firstIndex(of: alias.canonicalText) else {
                        throw StoreError.aliasNotFound(alias, of: owner)
                    }
                    settings.aliases.remove(at: index)
                }
            }
        }
    }
}

extension AddressRecord {
    var stateName: String { enabled ? "enabled" : "disabled" }

    private var autoReplyRules: String {
        let rules = settings.autoReplyKeywords.map { "\"\($0)\"" } + settings.autoReplySenders
        return rules.isEmpty ? "" : " (also " + rules.joined(separator: ", ") + ")"
    }

    private var autoReplyText: String {
        let kinds = [(settings.autoReplyInEnabled, "in hours"), (settings.autoReplyOutEnabled, "outside hours")].filter(\.0).map(\.1)
        guard !kinds.isEmpty else { return "no" }
        let period = settings.autoReplyPeriodHours.map { "once per customer in \($0) h" } ?? "once per session"
        let cap = settings.autoReplyHourlyCap.map { "at most \($0) per sender an hour" } ?? "the default hourly cap"
        return kinds.joined(separator: " and ") + "; \(period); \(cap)"
    }

    private var lastAgentText: String {
        guard let days = settings.lastAgentDays else { return "off" }
        return "a returning customer's agent, within \(days) days"
    }

    private var transferText: String {
        guard let seconds = settings.transferAfterSeconds else { return "off" }
        let queue: String = settings.transferQueue ?? "the default queue"
        return "after \(seconds) s of working time without an agent's reply, to \(queue)"
    }

    private var closingText: String {
        settings.closingText == nil ? "none" : "sent when a session ends without the customer's reply"
    }

    private var retentionText: String {
        guard let days = settings.retentionDays else { return "for ever" }
        return "\(days) days"
    }

    /// The `address show` text: one `key: value` line per field.
    var details: String {
        [
            ("address", email),
            ("display name", displayName ?? ""),
            ("channel name", settings.channelName ?? ""),
            ("state", stateName),
            ("aliases", aliases.joined(separator: ", ")),
            ("usage", settings.usage.rawValue),
            ("domain kind", domainKind.rawValue),
            ("queue", settings.defaultQueue ?? "(none)"),
            ("contact centre", settings.contactCentreAddress ?? ""),
            ("session mode", settings.sessionMode.rawValue),
            ("allowed from", settings.allowedSenderDomains.isEmpty ? "(any domain)" : settings.allowedSenderDomains.joined(separator: ", ")),
            ("auto-replies", settings.excludeAutoReplies ? "excluded" + autoReplyRules : "routed"),
            ("auto-replying", autoReplyText),
            ("blocklist", settings.blocklistEnabled ? "applied" : "off (entries kept)"),
            ("recipient only", settings.syncWhenRecipientOnly ? "yes" : "no"),
            ("personal replies", settings.personalReplies ? "from the agent's own address" : "from the channel address"),
            ("last agent", lastAgentText),
            ("transfer", transferText),
            ("closing message", closingText),
            ("max to/cc/bcc", [settings.maxTo, settings.maxCc, settings.maxBcc].map { $0.map(String.init) ?? "default" }.joined(separator: "/")),
            ("retention", retentionText),
            ("contact card", settings.sendContactCard ? "sent with the first reply" : "not sent"),
            ("template", [settings.templateHeaderText, settings.templateHeaderHTML, settings.templateFooterText, settings.templateFooterHTML]
                .contains { $0 != nil } ? "header/footer set" : "none"),
            ("draft", hasDraft ? "pending (see `postgate address diff \(email)`)" : "none"),
            ("mailbox", mailboxPath),
            ("messages", String(messageCount)),
            ("created", createdAt.formatted(.iso8601)),
        ].map { "\($0.0 + ":")\(String(repeating: " ", count: 16 - $0.0.count))\($0.1)" }.joined(separator: "\n")
    }
}

extension EmailAddress {
    /// The canonical form shown back to the administrator: lower-case local part, A-label domain.
    var canonicalText: String {
        EmailAddress(localPart: localPart.lowercased(), domain: domain).description
    }
}
