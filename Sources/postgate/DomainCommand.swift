import ArgumentParser
import PostgateMessage
import PostgateStore
import PostgateMaildir
import PostgateDirectory

/// `postgate domain add|list|remove`: the domains the gateway receives mail for.
struct DomainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "domain",
        abstract: "Add, list and remove the hosted domains.",
        discussion: """
        Postgate accepts mail only for addresses in hosted domains; mail for any other \
        domain is refused (550 5.7.1), so the gateway is never an open relay. An \
        internationalised domain may be given with Unicode labels (bücher.example) or \
        A-labels (xn--bcher-kva.example): both name the same domain.
        """,
        subcommands: [Add.self, List.self, Remove.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Host a domain.",
            discussion: """
            Addresses can then be added in it with `postgate address add`. --kind hosted (the \
            default) is the gateway's own domain customers forward to; standard and advanced are \
            custom domains, limited in number and in addresses each (channels.limits in the config: \
            by default 5 × 5 and 50 × 50).
            """
        )

        @Argument(help: "the domain, e.g. acme.example")
        var name: String

        @Option(help: ArgumentHelp("hosted, standard or advanced", valueName: "KIND"))
        var kind: DomainKind = .hosted

        @OptionGroup var options: StoreOptions

        func run() throws {
            let domain = parseDomain(name)
            let store = try options.openStore()
            let limits = options.channelLimits()
            let record = try reportingFailure { () throws(StoreError) in try store.addDomain(domain, kind: kind, limits: limits) }
            try options.print(record) { "added \(record.kind) domain \(record.displayName)" }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the hosted domains.",
            discussion: "With --json: an array of objects with name, unicodeName, kind, addressCount, createdAt, dkimStatus."
        )

        @OptionGroup var options: StoreOptions

        func run() throws {
            let store = try options.openStore()
            let records = try reportingFailure { () throws(StoreError) in try store.domains() }
            let domains = try DomainListing.listings(records, store: store) // with each domain's DKIM status
            try options.print(domains) {
                guard !domains.isEmpty else { return "no domains; add one with `postgate domain add NAME`" }
                return TextTable(
                    headers: ["DOMAIN", "UNICODE", "KIND", "ADDRESSES", "DKIM", "CREATED"],
                    rows: domains.map {
                        [$0.name, $0.unicodeName, $0.kind.rawValue, String($0.addressCount), $0.dkimStatus ?? "-", $0.createdAt.formatted(.iso8601)]
                    }
                ).render()
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop hosting a domain.",
            discussion: """
            Refused while the domain has addresses or aliases, unless --force, which removes \
            them too. Maildirs and the messages in them are always kept.
            """
        )

        @Argument(help: "the domain to remove")
        var name: String

        @Flag(help: "also remove the domain's addresses and aliases")
        var force = false

        @OptionGroup var options: StoreOptions

        func run() throws {
            let domain = parseDomain(name)
            try options.withStore { (store) throws(StoreError) in try store.removeDomain(domain, force: force) }
            try options.print(Removed(removed: domain.ascii)) { "removed domain \(domain.unicode)" }
        }
    }
}

extension DomainRecord {
    /// `acme.example`, or `bücher.example (xn--bcher-kva.example)` for an IDN.
    var displayName: String {
        unicodeName == name ? name : "\(unicodeName) (\(name))"
    }
}

extension DomainKind: ExpressibleByArgument {}
