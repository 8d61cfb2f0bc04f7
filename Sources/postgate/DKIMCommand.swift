import ArgumentParser
import Foundation
import PostgateDKIM
import PostgateDNS
import PostgateGateway
import PostgateMessage
import PostgateStore
import PostgateMaildir
import PostgateDirectory

/// `postgate dkim generate|import|show|rotate|verify|sign`: the domains' DKIM keys.
struct DKIMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dkim",
        abstract: "Generate, import, show, rotate and verify the domains' DKIM keys.",
        discussion: """
        A domain's DKIM key signs its replies (RFC 6376; rsa-sha256 or ed25519-sha256, RFC 8463). \
        Publish the printed TXT record at SELECTOR._domainkey.DOMAIN; `postgate serve` re-checks \
        it on a backoff schedule until it verifies or 72 hours pass. Statuses: Pending (no record \
        yet), Success, Failed (record present but wrong or malformed, or nothing after 72 hours), \
        Temporary Failure (DNS error or timeout; retried). Private keys are kept in DATA/dkim/, mode 0600.
        """,
        subcommands: [Generate.self, Import.self, Show.self, Rotate.self, Verify.self, Sign.self]
    )

    struct KeyOptions: ParsableArguments {
        @Option(help: "rsa or ed25519")
        var algorithm: String?

        @Option(help: "RSA key size: 2048 (default) or 1024")
        var bits: Int?

        /// A new key as the options ask; `fallback` when --algorithm is not given.
        func generate(fallback: DKIMAlgorithm = .rsaSHA256) -> DKIMPrivateKey {
            let chosen: DKIMAlgorithm
            switch algorithm?.lowercased() {
            case nil: chosen = fallback
            case "rsa"?, "rsa-sha256"?: chosen = .rsaSHA256
            case "ed25519"?, "ed25519-sha256"?: chosen = .ed25519SHA256
            case let other?: fail("--algorithm \(other) is not rsa or ed25519")
            }
            if chosen == .ed25519SHA256 {
                if bits != nil { fail("--bits applies to RSA keys only") }
                return .generateEd25519()
            }
            return reportingDKIMFailure { () throws(DKIMError) in try DKIMPrivateKey.generateRSA(bits: bits ?? 2048) }
        }
    }

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new key for a domain and print the DNS record to publish.",
            discussion: "With --json: the key entry plus recordName and txtStrings (the TXT value split in 255-character strings)."
        )

        @Argument(help: "the hosted domain") var domain: String
        @Option(help: "the selector, e.g. s2026") var selector: String
        @OptionGroup var key: KeyOptions
        @OptionGroup var options: StoreOptions

        func run() throws {
            try addKey(domain: domain, selector: selector, key: key.generate(), options: options)
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a PEM private key for a domain and print the DNS record to publish.",
            discussion: "PKCS#1 (BEGIN RSA PRIVATE KEY) or PKCS#8 (BEGIN PRIVATE KEY); RSA of 1024 to 2048 bits, or Ed25519."
        )

        @Argument(help: "the hosted domain") var domain: String
        @Option(help: "the selector, e.g. s2026") var selector: String
        @Option(name: .customLong("key"), help: ArgumentHelp("the PEM private key file", valueName: "FILE")) var keyFile: String
        @OptionGroup var options: StoreOptions

        func run() throws {
            guard let data = FileManager.default.contents(atPath: keyFile) else { fail("cannot read key file \(keyFile)") }
            let text = String(decoding: data, as: UTF8.self)
            let key = reportingDKIMFailure { () throws(DKIMError) in try DKIMPrivateKey(pem: text) }
            try addKey(domain: domain, selector: selector, key: key, options: options)
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new key under a new selector beside the current one.",
            discussion: """
            The old key keeps signing until the new record verifies (Success); then the new one \
            signs. Remove the old record from DNS once the new one is in use. The algorithm \
            defaults to the current key's.
            """
        )

        @Argument(help: "the hosted domain") var domain: String
        @Option(help: "the new selector") var selector: String
        @OptionGroup var key: KeyOptions
        @OptionGroup var options: StoreOptions

        func run() throws {
            let name = parseDomain(domain)
            let current = try options.withStore { (store) throws(StoreError) in try store.dkimKey(domain: name) }
            let algorithm = DKIMAlgorithm(rawValue: current.algorithm) ?? .rsaSHA256
            try addKey(domain: domain, selector: selector, key: key.generate(fallback: algorithm), options: options)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the DKIM keys, their DNS records and verification status.",
            discussion: "With --json: an array of key entries, each with recordName and txtStrings."
        )

        @Argument(help: "a hosted domain (default: every domain)") var domain: String?
        @OptionGroup var options: StoreOptions

        func run() throws {
            let name = domain.map(parseDomain)
            let keys = try options.withStore { (store) throws(StoreError) in try store.dkimKeys(domain: name) }
            if let name, keys.isEmpty { fail(StoreError.dkimKeyNotFound(name, selector: nil).description) }
            try options.print(keys.map(DKIMKeyListing.init)) {
                guard !keys.isEmpty else { return "no DKIM keys; make one with `postgate dkim generate DOMAIN --selector S`" }
                let table = TextTable(
                    headers: ["DOMAIN", "SELECTOR", "ALGORITHM", "STATUS", "LAST CHECK", "NEXT CHECK", "REASON"],
                    rows: keys.map { [$0.domain, $0.selector, $0.algorithm, $0.status,
                                      $0.lastCheckAt?.formatted(.iso8601) ?? "-", $0.nextCheckAt?.formatted(.iso8601) ?? "-",
                                      $0.statusReason ?? ""] }
                ).render()
                return table + "\n\n" + keys.map(recordText).joined(separator: "\n")
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a domain's DKIM record in DNS now and record the status.",
            discussion: "DNS servers: --dns-server, else the config's dns.servers, else /etc/resolv.conf."
        )

        @Argument(help: "the hosted domain") var domain: String
        @Option(help: "the selector (default: every key of the domain)") var selector: String?
        @OptionGroup var dns: DNSOptions
        @OptionGroup var options: StoreOptions

        func run() throws {
            let name = parseDomain(domain)
            let store = try options.openStore()
            let checker = DKIMDomainChecker(store: store, configuration: dns.configuration(base: options.gatewayConfiguration()))
            var keys = try reportingFailure { () throws(StoreError) in try store.dkimKeys(domain: name) }
            if let selector { keys = keys.filter { $0.selector == selector.lowercased() } }
            if keys.isEmpty { fail(StoreError.dkimKeyNotFound(name, selector: selector).description) }
            let now = Date()
            let checked = keys.map { entry in
                do { return try checker.check(entry, now: now) } catch { fail("\(error)") }
            }
            try options.print(checked.map(DKIMKeyListing.init)) {
                checked.map { "\($0.recordName): \($0.status)" + ($0.statusReason.map { " (\($0))" } ?? "") }.joined(separator: "\n")
            }
        }
    }

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign a message read from standard input (maintenance and tests).",
            discussion: "Prints the message with a DKIM-Signature field on top, line ends as CRLF.",
            shouldDisplay: false
        )

        @Argument(help: "the signing domain") var domain: String
        @Option(help: "the selector (default: the newest verified key, else the newest key)") var selector: String?
        @Option(help: "header/body canonicalization, e.g. relaxed/relaxed or simple/simple") var canonicalization = "relaxed/relaxed"
        @Option(name: .customLong("repeat"), help: ArgumentHelp("sign N times, print the last (bench/dkim_bench.py)", visibility: .hidden)) var repeatCount = 1
        @OptionGroup var options: StoreOptions

        func run() throws {
            let name = parseDomain(domain)
            let store = try options.openStore()
            let found: DKIMSigner?
            do { found = try DKIMKeyring(store: store).signer(for: name, selector: selector) } catch { fail("\(error)") }
            guard var signer = found else { fail(StoreError.dkimKeyNotFound(name, selector: selector).description) }
            guard let pair = DKIMCanonicalizationPair(tag: canonicalization) else {
                fail("--canonicalization \(canonicalization) is not relaxed/relaxed, relaxed/simple, simple/relaxed or simple/simple")
            }
            signer.canonicalization = pair
            let message = Self.crlf(FileHandle.standardInput.readDataToEndOfFile())
            var field = ""
            for _ in 0..<max(1, repeatCount) {
                field = reportingDKIMFailure { () throws(DKIMError) in try signer.sign(messageChunks: [message]) }
            }
            FileHandle.standardOutput.write(Data(field.utf8) + Data(message))
        }

        /// The message with every line ending in CRLF.
        static func crlf(_ data: Data) -> [UInt8] {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(data.count + data.count / 40)
            var previous: UInt8 = 0
            for byte in data {
                if byte == 0x0A && previous != 0x0D { bytes.append(0x0D) }
                bytes.append(byte)
                previous = byte
            }
            return bytes
        }
    }
}

/// `--dns-server` for commands that ask DNS (the config's `dns:` settings otherwise).
struct DNSOptions: ParsableArguments {
    @Option(name: .customLong("dns-server"), help: ArgumentHelp("a DNS server, host:port; repeat for several", valueName: "HOST:PORT"))
    var servers: [String] = []

    /// `base` (from `--config`) with the servers given here in place of its `dns.servers`.
    func configuration(base: GatewayConfiguration) -> GatewayConfiguration {
        var configuration = base
        for server in servers {
            do { _ = try DNSServerAddress(server) } catch { fail(error.description) }
        }
        if !servers.isEmpty { configuration.dns.servers = servers }
        return configuration
    }
}

/// A key entry for output, with the record name and the TXT value as DNS strings.
struct DKIMKeyListing: Encodable {
    var entry: DKIMKeyEntry
    var recordName: String { entry.recordName }
    var txtStrings: [String] { DKIMKeyRecord.zoneFileStrings(entry.publicRecord) }

    init(_ entry: DKIMKeyEntry) { self.entry = entry }

    enum CodingKeys: String, CodingKey { case recordName, txtStrings }

    func encode(to encoder: any Encoder) throws {
        try entry.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(recordName, forKey: .recordName)
        try container.encode(txtStrings, forKey: .txtStrings)
    }
}

/// `NAME IN TXT ( "…" "…" )`, as a zone file or a DNS panel takes it.
func recordText(_ entry: DKIMKeyEntry) -> String {
    let strings = DKIMKeyRecord.zoneFileStrings(entry.publicRecord).map { "\"\($0)\"" }
    return "\(entry.recordName). IN TXT ( " + strings.joined(separator: "\n\t") + " )"
}

/// Stores `key` for `domain` under `selector` and prints the record to publish.
private func addKey(domain: String, selector: String, key: DKIMPrivateKey, options: StoreOptions) throws {
    let name = parseDomain(domain)
    guard let selector = DKIMSelector.validated(selector) else {
        fail("'\(selector)' is not a valid selector (letters, digits and hyphens, dot-separated labels)")
    }
    let store = try options.openStore()
    let entry = try reportingFailure { () throws(StoreError) in
        try store.addDKIMKey(domain: name, selector: selector, algorithm: key.algorithm.rawValue,
                             privateKeyPEM: key.pemRepresentation, publicRecord: key.keyRecord)
    }
    try options.print(DKIMKeyListing(entry)) {
        "added \(key.summary) DKIM key for \(entry.unicodeDomain), selector \(entry.selector), status \(entry.status)\n"
            + "publish this TXT record:\n" + recordText(entry)
    }
}

/// Runs `body`; a DKIM error becomes `postgate: <reason>` and exit status 1.
func reportingDKIMFailure<T>(_ body: () throws(DKIMError) -> T) -> T {
    do { return try body() } catch { fail(error.description) }
}
