import Foundation
import ArgumentParser
import PostgateMessage
import PostgateStore
import PostgateMaildir
import PostgateDirectory
import PostgateGateway

/// `postgate domain add|list|remove`: the domains the gateway receives mail for.
struct DomainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "domain",
        abstract: "Add, list, show, verify and remove the hosted domains.",
        discussion: """
        Postgate accepts mail only for addresses in hosted domains; mail for any other \
        domain is refused (550 5.7.1), so the gateway is never an open relay. An \
        internationalised domain may be given with Unicode labels (bücher.example) or \
        A-labels (xn--bcher-kva.example): both name the same domain. A custom domain proves \
        its owner added it by a TXT record at _postgate.DOMAIN (`domain show` prints it, \
        `domain verify` checks it); until that and its DKIM record are verified, its addresses \
        cannot be enabled (`domain set --require-verification false` lifts the rule).
        """,
        subcommands: [Add.self, List.self, Show.self, Verify.self, Set.self, Remove.self]
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
            discussion: """
            With --json: an array of objects with name, unicodeName, kind, addressCount, createdAt, \
            requireVerification, ownership (null for hosted domains, else {recordName, recordValue, \
            status, reason, checkedAt}), dkimStatus.
            """)

        @OptionGroup var options: StoreOptions

        func run() throws {
            let store = try options.openStore()
            let records = try reportingFailure { () throws(StoreError) in try store.domains() }
            let domains = try DomainListing.listings(records, store: store) // with each domain's DKIM status
            try options.print(domains) {
                guard !domains.isEmpty else { return "no domains; add one with `postgate domain add NAME`" }
                return TextTable(
                    headers: ["DOMAIN", "UNICODE", "KIND", "ADDRESSES", "OWNERSHIP", "DKIM", "CREATED"],
                    rows: domains.map {
                        [$0.name, $0.unicodeName, $0.kind.rawValue, String($0.addressCount), $0.ownership?.status ?? "-",
                         $0.dkimStatus ?? "-", $0.createdAt.formatted(.iso8601)]
                    }
                ).render()
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a domain: its kind, the ownership record to publish and its status, DKIM.",
            discussion: "With --json: one object with the keys of `postgate domain list --json`."
        )

        @Argument(help: "the domain") var name: String
        @OptionGroup var options: StoreOptions

        func run() throws {
            let domain = parseDomain(name)
            let store = try options.openStore()
            // Made on first need for a domain added before ownership checks.
            _ = try reportingFailure { () throws(StoreError) in try store.domainOwnership(domain) }
            let records = try reportingFailure { () throws(StoreError) in try store.domains() }
            guard let record = records.first(where: { $0.name == domain.ascii }) else {
                fail(StoreError.domainNotHosted(domain).description)
            }
            let listing = try DomainListing.listings([record], store: store)[0]
            try options.print(listing) {
                var lines = [("domain", record.displayName), ("kind", record.kind.rawValue), ("addresses", String(record.addressCount)),
                             ("dkim", listing.dkimStatus ?? "no key")]
                if let ownership = record.ownership {
                    lines += [("ownership", ownership.status + (ownership.reason.map { " (\($0))" } ?? "")),
                              ("publish", "\(ownership.recordName). IN TXT \"\(ownership.recordValue)\""),
                              ("verification", record.requireVerification ? "required before addresses are enabled" : "not required")]
                }
                return lines.map { "\($0.0 + ":")\(String(repeating: " ", count: 14 - $0.0.count))\($0.1)" }.joined(separator: "\n")
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a custom domain's ownership record in DNS now and record the status.",
            discussion: """
            Looks up the TXT record at _postgate.DOMAIN: Success when it holds the value `domain \
            show` prints, Pending when there is none yet, Failed when it holds something else, \
            Temporary Failure when DNS does not answer. Exits 1 unless Success. DNS servers: \
            --dns-server, else the config's dns.servers, else /etc/resolv.conf.
            """)

        @Argument(help: "the custom domain") var name: String
        @OptionGroup var dns: DNSOptions
        @OptionGroup var options: StoreOptions

        func run() throws {
            let domain = parseDomain(name)
            let store = try options.openStore()
            let checker = DomainOwnershipChecker(store: store, configuration: dns.configuration(base: options.gatewayConfiguration()))
            let checked: DomainOwnership?
            do { checked = try checker.check(domain, now: Date()) } catch { fail("\(error)") }
            guard let ownership = checked else {
                fail("\(domain.unicode) is a hosted domain: it is the gateway's own and needs no ownership record")
            }
            try options.print(ownership) {
                "\(ownership.recordName): \(ownership.status)" + (ownership.reason.map { " (\($0))" } ?? "")
            }
            if ownership.status != "Success" { throw ExitCode(1) }
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a domain's settings.")

        @Argument(help: "the domain") var name: String
        @Option(name: .customLong("require-verification"),
                help: ArgumentHelp("enable addresses on this custom domain only once its ownership and DKIM record are verified", valueName: "true|false"))
        var requireVerification: Bool
        @OptionGroup var options: StoreOptions

        func run() throws {
            let domain = parseDomain(name)
            try options.withStore { (store) throws(StoreError) in try store.setRequireVerification(domain, requireVerification) }
            try options.print(["domain": domain.ascii, "requireVerification": "\(requireVerification)"]) {
                "\(domain.unicode): verification \(requireVerification ? "required" : "not required") before addresses are enabled"
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
