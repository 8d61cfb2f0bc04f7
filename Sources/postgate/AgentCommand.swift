import ArgumentParser
import Foundation
import PostgateMessage
import PostgateDirectory
import PostgateStore
import PostgateMaildir

/// `postgate agent …`: the agents who log in over IMAP, their passwords and the work queues
/// and channel addresses whose shared folders they see.
struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Add, list, show and remove agents; set passwords; grant and revoke queues and addresses.",
        discussion: """
        An agent logs in over IMAP with its name and password and sees INBOX, Drafts, Sent, \
        Trash, its own folders, Shared/Queues/<queue> for every work queue and \
        Shared/<address> for every channel address it was granted. \
        Passwords are stored as scrypt hashes. Give a password at the prompt (not echoed) \
        or on standard input with --password-stdin.
        """,
        subcommands: [Add.self, List.self, Show.self, Set.self, Remove.self, Passwd.self, Grant.self, Revoke.self, PrivateSeen.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an agent with INBOX, Drafts, Sent and Trash.")

        @Argument(help: "the login name, e.g. alice (letters, digits, . _ - + @)")
        var name: String

        @Option(name: .customLong("name"), help: ArgumentHelp("display name, e.g. \"Alice Smith\"", valueName: "NAME"))
        var displayName: String?

        @OptionGroup var password: PasswordOptions
        @OptionGroup var options: StoreOptions

        func run() throws {
            let login = parseAgentName(name)
            let secret = password.read()
            let store = try options.openStore()
            let record = try reportingFailure { () throws(StoreError) in
                try store.addAgent(login, displayName: displayName, password: secret)
            }
            try options.print(record) { "added agent \(record.name)" }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the agents.",
            discussion: "With --json: an array of objects with name, displayName, addresses, queues, createdAt."
        )

        @OptionGroup var options: StoreOptions

        func run() throws {
            let records = try options.withStore { (store) throws(StoreError) in try store.agents() }
            try options.print(records) {
                guard !records.isEmpty else { return "no agents; add one with `postgate agent add NAME`" }
                return TextTable(
                    headers: ["AGENT", "NAME", "QUEUES", "ADDRESSES"],
                    rows: records.map {
                        [$0.name, $0.displayName ?? "", $0.queues.joined(separator: ", "), $0.addresses.joined(separator: ", ")]
                    }
                ).render()
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one agent.", discussion: "With --json: one object with the keys of `postgate agent list --json`.")

        @Argument(help: "the login name")
        var name: String

        @OptionGroup var options: StoreOptions

        func run() throws {
            let login = parseAgentName(name)
            let found = try options.withStore { (store) throws(StoreError) in try store.agent(login) }
            guard let record = found else { fail(StoreError.agentNotFound(login).description) }
            try options.print(record) {
                """
                agent:     \(record.name)
                name:      \(record.displayName ?? "")
                queues:    \(record.queues.joined(separator: ", "))
                addresses: \(record.addresses.joined(separator: ", "))
                email:     \(record.email ?? "")
                created:   \(ISO8601DateFormatter().string(from: record.createdAt))
                signature (text):
                \(record.signatureText ?? "(none)")
                signature (HTML):
                \(record.signatureHTML ?? "(none)")
                """
            }
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set an agent's own email address and signature.",
            discussion: """
            --email is the agent's own address: on a channel address whose personal replies are \
            on (`postgate address set --personal-replies true`), the agent's replies are sent \
            from it, with the channel's Reply-To. It must be on a domain this gateway hosts, so \
            the reply is DKIM-signed for it. The signature (text and HTML, each a file) is \
            appended to each reply the agent writes, after the address's footer; it may use the \
            variables {{agent_name}}, {{agent_email}}, {{address}} and {{address_name}} \
            (Mustache; HTML escapes them). An empty value clears a setting. Nothing is changed \
            when one value is refused. With --json: the agent, as `postgate agent show --json`.
            """
        )

        @Argument(help: "the login name")
        var name: String
        @Option(help: ArgumentHelp("the agent's own email address; \"\" clears it", valueName: "ADDRESS"))
        var email: String?
        @Option(name: .customLong("signature-text"), help: ArgumentHelp("file with the text signature; \"\" clears it", valueName: "FILE"))
        var signatureText: String?
        @Option(name: .customLong("signature-html"), help: ArgumentHelp("file with the HTML signature; \"\" clears it", valueName: "FILE"))
        var signatureHTML: String?
        @OptionGroup var options: StoreOptions

        func validate() throws {
            guard email != nil || signatureText != nil || signatureHTML != nil else {
                throw ValidationError("nothing to set: give --email, --signature-text or --signature-html")
            }
        }

        func run() throws {
            let login = parseAgentName(name)
            let change = AgentProfileChange(
                email: email.map { $0.isEmpty ? nil : $0 }, signatureText: signatureText.map(Self.read), signatureHTML: signatureHTML.map(Self.read))
            let store = try options.openStore()
            let record = try reportingFailure { () throws(StoreError) in try store.setAgentProfile(change, agent: login) }
            try options.print(record) { "agent \(record.name) updated" }
        }

        /// The contents of a signature file; nil (clear) for "".
        static func read(_ path: String) -> String? {
            guard !path.isEmpty else { return nil }
            guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read the signature file \(path)") }
            guard let text = String(data: data, encoding: .utf8) else { fail("the signature file \(path) is not UTF-8 text") }
            return text
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove an agent.", discussion: "Its personal Maildirs stay on disk under DATA/agents/.")

        @Argument(help: "the login name")
        var name: String

        @OptionGroup var options: StoreOptions

        func run() throws {
            let login = parseAgentName(name)
            try options.withStore { (store) throws(StoreError) in try store.removeAgent(login) }
            try options.print(Removed(removed: login)) { "removed agent \(login)" }
        }
    }

    struct Passwd: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set an agent's password.")

        @Argument(help: "the login name")
        var name: String

        @OptionGroup var password: PasswordOptions
        @OptionGroup var options: StoreOptions

        func run() throws {
            let login = parseAgentName(name)
            let secret = password.read()
            try options.withStore { (store) throws(StoreError) in try store.setPassword(secret, agent: login) }
            try options.print(["agent": login]) { "password of \(login) changed" }
        }
    }

    struct Grant: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Let an agent see a work queue (Shared/Queues/<queue>) or an address (Shared/<address>).",
            discussion: "QUEUE|ADDRESS with an @ is a hosted address or alias; without one, a queue (see `postgate queue list`)."
        )

        @Argument(help: "the login name")
        var name: String
        @Argument(help: ArgumentHelp("a queue name, or a hosted address or alias", valueName: "QUEUE|ADDRESS"))
        var target: String
        @OptionGroup var options: StoreOptions

        func run() throws {
            try changeMembership(name, target, options: options, grant: true)
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop an agent seeing a work queue or an address.")

        @Argument(help: "the login name")
        var name: String
        @Argument(help: ArgumentHelp("a queue name, or a hosted address or alias", valueName: "QUEUE|ADDRESS"))
        var target: String
        @OptionGroup var options: StoreOptions

        func run() throws {
            try changeMembership(name, target, options: options, grant: false)
        }
    }

    struct PrivateSeen: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "private-seen",
            abstract: "Keep \\Seen per agent (on) or shared by all agents (off) in an address's shared folder.",
            discussion: "Other flags are always shared. Default: off. For a queue: `postgate queue set QUEUE --private-seen on|off`."
        )

        @Argument(help: "a hosted address or alias")
        var address: String
        @Argument(help: "on or off")
        var state: String
        @OptionGroup var options: StoreOptions

        func run() throws {
            let enabled = parseOnOff(state, option: "private-seen")
            let email = parseAddress(address)
            let store = try options.openStore()
            try reportingFailure { () throws(StoreError) in try store.setPrivateSeen(enabled, of: .address(email)) }
            try options.print(["address": email.canonical, "privateSeen": state]) { "\\Seen in \(email.canonical) is now \(enabled ? "private per agent" : "shared")" }
        }
    }

    private static func changeMembership(_ name: String, _ target: String, options: StoreOptions, grant: Bool) throws {
        let login = parseAgentName(name)
        let membership = parseMembership(target)
        let store = try options.openStore()
        let record = try reportingFailure { () throws(StoreError) in
            grant ? try store.grant(agent: login, to: membership) : try store.revoke(agent: login, from: membership)
        }
        try options.print(record) { "\(record.name) \(grant ? "now sees" : "no longer sees") \(membership)" }
    }

    /// An argument with `@` is an address; otherwise a queue (queue names have no `@`).
    private static func parseMembership(_ text: String) -> AgentMembership {
        text.contains("@") ? .address(parseAddress(text)) : .queue(text)
    }
}

/// How a command gets a password: a prompt without echo, or standard input for scripts.
struct PasswordOptions: ParsableArguments {
    @Flag(name: .customLong("password-stdin"), help: "read the password from the first line of standard input")
    var passwordStdin = false

    func read() -> String {
        let password: String
        if passwordStdin {
            password = readLine(strippingNewline: true) ?? ""
        } else {
            guard isatty(STDIN_FILENO) == 1 else { fail("no terminal to ask for the password; use --password-stdin") }
            password = TerminalPrompt.secret("Password: ")
            guard TerminalPrompt.secret("Again: ") == password else { fail("the passwords do not match") }
        }
        guard password.count >= 8 else { fail("the password must have at least 8 characters") }
        return password
    }
}

/// Checks an agent login name: 1–64 of `a-z 0-9 . _ - + @`, case folded to lower case.
func parseAgentName(_ text: String) -> String {
    let name = text.lowercased()
    let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789._-+@")
    guard (1...64).contains(name.count), name.allSatisfy(allowed.contains) else {
        fail("'\(text)' is not a valid agent name: use 1 to 64 letters, digits, '.', '_', '-', '+' or '@'")
    }
    return name
}
