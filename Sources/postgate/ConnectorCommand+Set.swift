import ArgumentParser
import Foundation
import PostgateMessage
import PostgateStore
import PostgateMaildir
import PostgateDirectory

extension ConnectorCommand {
    /// `postgate connector set ADDRESS --receiving imap|pop3 | --sending [--option value …]`.
    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add or edit the receiving or sending gateway of an address (a draft until `postgate publish`).",
            discussion: """
            Give --receiving imap|pop3|graph for the receiving gateway or --sending for the \
            sending one; a Graph receiving gateway reads a user's mailbox (--username) or a \
            Microsoft 365 group's conversations (--group), each new post becoming a message. Every option changes one setting of the draft; settings not named keep their \
            draft (or published) value, and a new gateway starts from the defaults (IMAP port \
            993 / POP3 995 with implicit TLS, SMTP 587 with STARTTLS, INBOX, 3 tries, 15 minutes \
            of cool-off, 60 s between polls, 50 MiB). The draft is checked as a whole: a change \
            that breaks a rule is refused and changes nothing. Secrets are read from a file or \
            standard input (one trailing newline dropped), never from the command line, and \
            stored encrypted. A text given as "" clears it. `postgate connector show` shows the \
            draft; --publish makes it live at once. With --json: {address, direction, draft \
            {settings, secrets}, pending, published}.
            """
        )

        @Argument(help: "the address (not an alias)")
        var email: String

        @Option(help: ArgumentHelp("edit the receiving gateway, fetching by imap, pop3 or graph (Microsoft Graph)", valueName: "PROTOCOL"))
        var receiving: MailboxProtocol?
        @Flag(help: "edit the sending gateway (SMTP submission, or Microsoft Graph with --sending-protocol graph)")
        var sending = false
        @Option(name: .customLong("sending-protocol"), help: ArgumentHelp("sending: smtp (submission) or graph (Microsoft Graph sendMail)", valueName: "PROTOCOL"))
        var sendingProtocol: SubmissionProtocol?
        @Option(name: .customLong("graph-url"), help: ArgumentHelp("graph: the Microsoft Graph base URL (national clouds, test endpoints); \"\" for https://graph.microsoft.com/v1.0", valueName: "URL"))
        var graphURL: String?

        @Option(help: ArgumentHelp("server host name or IP address", valueName: "HOST"))
        var host: String?
        @Option(help: ArgumentHelp("server port, or default for the protocol's port for the TLS mode", valueName: "N"))
        var port: PortNumber?
        @Option(help: ArgumentHelp("implicit (TLS from the start), starttls, or none (needs --allow-plaintext true)", valueName: "MODE"))
        var tls: GatewayTLSMode?
        @Option(help: ArgumentHelp("the user name to log in with", valueName: "NAME"))
        var username: String?
        @Option(name: .customLong("password-file"), help: ArgumentHelp("read the password from FILE", valueName: "FILE"))
        var passwordFile: String?
        @Flag(name: .customLong("password-stdin"), help: "read the password from standard input")
        var passwordStdin = false
        @Option(help: ArgumentHelp("password or oauth2", valueName: "TYPE"))
        var auth: GatewayAuthentication?
        @Option(name: .customLong("oauth-client-id"), help: ArgumentHelp("OAuth 2.0 client id", valueName: "ID"))
        var oauthClientID: String?
        @Option(name: .customLong("oauth-client-secret-file"), help: ArgumentHelp("read the OAuth 2.0 client secret from FILE; \"\" clears", valueName: "FILE"))
        var oauthClientSecretFile: String?
        @Option(name: .customLong("oauth-tenant"), help: ArgumentHelp("directory tenant, put for {tenant} in the token endpoint; \"\" clears", valueName: "TENANT"))
        var oauthTenant: String?
        @Option(name: .customLong("oauth-scope"), help: ArgumentHelp("scope requested with the refresh token; \"\" clears", valueName: "SCOPE"))
        var oauthScope: String?
        @Option(name: .customLong("oauth-token-endpoint"), help: ArgumentHelp("token endpoint URL (https; http only to a loopback host)", valueName: "URL"))
        var oauthTokenEndpoint: String?
        @Option(name: .customLong("oauth-refresh-token-file"), help: ArgumentHelp("read the OAuth 2.0 refresh token from FILE", valueName: "FILE"))
        var oauthRefreshTokenFile: String?
        @Option(name: .customLong("oauth-mechanism"), help: ArgumentHelp("SASL mechanism: xoauth2 or oauthbearer", valueName: "MECH"))
        var oauthMechanism: OAuthMechanism?
        @Option(name: .customLong("ca-file"), help: ArgumentHelp("PEM file of CA certificates trusted for this server; \"\" clears", valueName: "FILE"))
        var caFile: String?
        @Option(name: .customLong("connection-timeout-ms"), help: ArgumentHelp("connect, handshake and response timeout, 1000-600000", valueName: "MS"))
        var connectionTimeoutMS: Int?
        @Option(name: .customLong("allow-plaintext"), help: ArgumentHelp("allow logging in without TLS (--tls none)", valueName: "true|false"))
        var allowPlaintext: Bool?

        @Option(name: .customLong("max-tries"), help: ArgumentHelp("receiving: failed attempts before cooling off, 1-100", valueName: "N"))
        var maxTries: Int?
        @Option(name: .customLong("cool-off-minutes"), help: ArgumentHelp("receiving: rest after max tries, 1-10080", valueName: "N"))
        var coolOffMinutes: Int?
        @Option(name: .customLong("skip-time"), help: ArgumentHelp("receiving: a window not to connect in, HH:MM-HH:MM (repeatable; adds)", valueName: "WINDOW"))
        var skipTimes: [String] = []
        @Flag(name: .customLong("clear-skip-times"), help: "receiving: remove every skip window (before adding those given)")
        var clearSkipTimes = false
        @Option(name: .customLong("time-zone"), help: ArgumentHelp("receiving: time zone of the skip windows and sync start date, e.g. Europe/Berlin", valueName: "ZONE"))
        var timeZone: String?
        @Option(name: .customLong("sync-start-date"), help: ArgumentHelp("receiving: fetch no mail received before this day, YYYY-MM-DD; \"\" clears", valueName: "DAY"))
        var syncStartDate: String?
        @Option(name: .customLong("folder"), help: ArgumentHelp("receiving IMAP: a folder to fetch (repeatable; replaces the list)", valueName: "NAME"))
        var folders: [String] = []
        @Option(name: .customLong("sync-all-folders"), help: ArgumentHelp("receiving IMAP: fetch every folder but Trash and Junk", valueName: "true|false"))
        var syncAllFolders: Bool?
        @Option(name: .customLong("delete-after-download"), help: ArgumentHelp("receiving POP3: delete each message once stored here", valueName: "true|false"))
        var deleteAfterDownload: Bool?
        @Option(name: .customLong("after-fetch"), help: ArgumentHelp("receiving IMAP: leave, seen (mark \\Seen) or move (to --move-to-folder)", valueName: "ACTION"))
        var afterFetch: FetchedMailAction?
        @Option(name: .customLong("move-to-folder"), help: ArgumentHelp("receiving IMAP: where --after-fetch move puts fetched mail; \"\" clears", valueName: "NAME"))
        var moveToFolder: String?
        @Option(name: .customLong("poll-interval"), help: ArgumentHelp("receiving: seconds between polls without IDLE, 10-86400", valueName: "SECONDS"))
        var pollInterval: Int?
        @Option(help: ArgumentHelp("receiving IMAP: wait for new mail with IDLE where offered", valueName: "true|false"))
        var idle: Bool?
        @Option(help: ArgumentHelp("receiving graph: read a Microsoft 365 group's conversations instead of a mailbox, by its id (a GUID) or mail address; \"\" reads the mailbox of --username again", valueName: "GROUP"))
        var group: String?
        @Option(name: .customLong("max-message-size"), help: ArgumentHelp("receiving: larger messages are skipped; bytes, or with K, M or G (1K-1G)", valueName: "SIZE"))
        var maxMessageSize: ByteSize?

        @Option(name: .customLong("save-to-sent"), help: ArgumentHelp("sending: also store each reply in the mailbox's Sent folder (needs an IMAP receiving gateway)", valueName: "true|false"))
        var saveToSent: Bool?
        @Option(name: .customLong("sent-folder"), help: ArgumentHelp("sending: the Sent folder; \"\" for the one marked \\Sent", valueName: "NAME"))
        var sentFolder: String?

        @OptionGroup var publishing: PublishNow
        @OptionGroup var options: StoreOptions

        func run() throws {
            let address = parseAddress(email)
            guard (receiving != nil) != sending else { fail("connector set needs exactly one of --receiving imap|pop3|graph and --sending") }
            if sending, group != nil {
                fail("a Microsoft 365 group cannot send mail (Graph has no sendMail for a group): replies leave through the sending gateway by SMTP submission, or by --sending-protocol graph with a user's mailbox (--username USER)")
            }
            if let receiving, receiving != .graph, let group, !group.isEmpty {
                fail("--group is for --receiving graph: only Microsoft Graph reads a Microsoft 365 group")
            }
            if sending {
                let given = receivingOnlyOptions
                guard given.isEmpty else { fail("\(given.joined(separator: ", ")) \(given.count == 1 ? "is a receiving gateway option" : "are receiving gateway options"), not for --sending") }
            } else {
                let given = sendingOnlyOptions
                guard given.isEmpty else { fail("\(given.joined(separator: ", ")) \(given.count == 1 ? "is a sending gateway option" : "are sending gateway options"), not for --receiving") }
            }
            guard passwordFile == nil || !passwordStdin else { fail("give the password by --password-file or --password-stdin, not both") }
            let secrets = Secrets(password: try readSecret(file: passwordFile, stdin: passwordStdin, what: "password"),
                                  clientSecret: try readClearableSecret(file: oauthClientSecretFile, what: "OAuth client secret"),
                                  refreshToken: try readSecret(file: oauthRefreshTokenFile, stdin: false, what: "OAuth refresh token"))
            let store = try options.openStore()
            let keyFile = options.secretKeyFile
            let sealed = try reportingFailure { () throws(StoreError) in try secrets.sealed(by: store, keyFile: keyFile) }
            if let receiving {
                try editAndReport(store, address) { (s: inout ReceivingGatewaySettings) in
                    s.kind = receiving
                    applyConnection(to: &s.connection, sealed: sealed, graph: receiving == .graph)
                    applyReceiving(to: &s)
                }
            } else {
                if sendingProtocol == .graph, saveToSent == false {
                    fail("Graph keeps every message it sends in Sent Items: --save-to-sent false is not possible with --sending-protocol graph")
                }
                try editAndReport(store, address) { (s: inout SendingGatewaySettings) in
                    sendingProtocol.map { s.kind = $0 }
                    applyConnection(to: &s.connection, sealed: sealed, graph: s.kind == .graph)
                    saveToSent.map { s.saveToSent = $0 }
                    sentFolder.map { s.sentFolder = $0.isEmpty ? nil : $0 }
                }
            }
        }

        private var receivingOnlyOptions: [String] {
            [("--max-tries", maxTries != nil), ("--cool-off-minutes", coolOffMinutes != nil), ("--skip-time", !skipTimes.isEmpty),
             ("--clear-skip-times", clearSkipTimes), ("--time-zone", timeZone != nil), ("--sync-start-date", syncStartDate != nil),
             ("--folder", !folders.isEmpty), ("--sync-all-folders", syncAllFolders != nil),
             ("--delete-after-download", deleteAfterDownload != nil), ("--after-fetch", afterFetch != nil),
             ("--move-to-folder", moveToFolder != nil), ("--poll-interval", pollInterval != nil), ("--idle", idle != nil),
             ("--max-message-size", maxMessageSize != nil), ("--group", group != nil)].filter(\.1).map(\.0)
        }

        private var sendingOnlyOptions: [String] {
            [("--save-to-sent", saveToSent != nil), ("--sent-folder", sentFolder != nil), ("--sending-protocol", sendingProtocol != nil)]
                .filter(\.1).map(\.0)
        }

        /// The connection settings both directions share.
        private func applyConnection(to connection: inout GatewayConnectionSettings, sealed: SealedSecrets, graph: Bool) {
            // Graph takes only OAuth 2.0: a new Graph gateway starts with it.
            if graph, auth == nil, connection.password == nil { connection.auth = .oauth2 }
            graphURL.map { connection.graphURL = $0.isEmpty ? nil : $0 }
            self.host.map { connection.host = $0 }
            self.port.map { connection.port = $0.value }
            self.tls.map { connection.tls = $0 }
            self.username.map { connection.username = $0 }
            self.auth.map { connection.auth = $0 }
            sealed.password.map { connection.password = $0 }
            self.caFile.map { connection.caFile = $0.isEmpty ? nil : $0 }
            self.connectionTimeoutMS.map { connection.connectionTimeoutMS = $0 }
            self.allowPlaintext.map { connection.allowPlaintext = $0 }
            let touchesOAuth = oauthClientID != nil || sealed.clientSecret != nil || oauthTenant != nil || oauthScope != nil
                || oauthTokenEndpoint != nil || sealed.refreshToken != nil || oauthMechanism != nil
            guard touchesOAuth else { return }
            var client = connection.oauth ?? OAuthClientSettings()
            oauthClientID.map { client.clientID = $0 }
            sealed.clientSecret.map { client.clientSecret = $0 }
            oauthTenant.map { client.tenant = $0.isEmpty ? nil : $0 }
            oauthScope.map { client.scope = $0.isEmpty ? nil : $0 }
            oauthTokenEndpoint.map { client.tokenEndpoint = $0 }
            sealed.refreshToken.map { client.refreshToken = $0 }
            oauthMechanism.map { client.mechanism = $0 }
            connection.oauth = client
        }

        private func applyReceiving(to s: inout ReceivingGatewaySettings) {
            maxTries.map { s.maxTries = $0 }
            coolOffMinutes.map { s.coolOffMinutes = $0 }
            if clearSkipTimes { s.skipTimes = [] }
            for window in skipTimes where !s.skipTimes.contains(window) { s.skipTimes.append(window) }
            timeZone.map { s.timeZone = $0 }
            syncStartDate.map { s.syncStartDate = $0.isEmpty ? nil : $0 }
            if !folders.isEmpty { s.folders = folders }
            syncAllFolders.map { s.syncAllFolders = $0 }
            deleteAfterDownload.map { s.deleteAfterDownload = $0 }
            afterFetch.map { s.afterFetch = $0 }
            moveToFolder.map { s.moveToFolder = $0.isEmpty ? nil : $0 }
            pollInterval.map { s.pollIntervalSeconds = $0 }
            idle.map { s.useIdle = $0 }
            maxMessageSize.map { s.maxMessageBytes = $0.bytes }
            if let group {
                s.group = group.isEmpty ? nil : group
                // A group has no folders, user or after-fetch action: those not given now
                // go back to their defaults rather than refuse the switch.
                if !group.isEmpty {
                    if username == nil { s.connection.username = "" }
                    if folders.isEmpty { s.folders = FetchSettings().folders }
                    if syncAllFolders == nil { s.syncAllFolders = false }
                    if afterFetch == nil { s.afterFetch = .leave }
                    if moveToFolder == nil { s.moveToFolder = nil }
                }
            }
        }

        private func editAndReport<S: GatewaySettings>(_ store: MailStore, _ address: EmailAddress, _ edit: (inout S) -> Void) throws {
            let result = try reportingFailure { () throws(StoreError) in
                let draft = try store.editGatewayDraft(of: address) { (settings: inout S) in edit(&settings) }
                var pending = try store.pendingGatewayChanges(S.self, of: address)
                var publication: Publication?
                if publishing.publish, !pending.isEmpty {
                    publication = try store.publish([address], comment: publishing.comment ?? "published with the edit")
                    pending = []
                }
                return GatewayEditResult(address: address.canonicalText, direction: S.direction,
                                         draft: GatewayView<S>.Side(draft), pending: pending, published: publication)
            }
            try options.print(result) {
                let name = "\(S.direction.rawValue) gateway of \(result.address)"
                if let publication = result.published {
                    return "published the \(name) (publication \(publication.id)): "
                        + publication.addresses.flatMap { $0.changes.map(\.field) }.joined(separator: ", ")
                }
                if result.pending.isEmpty { return "\(name): nothing pending (the draft equals what is published)" }
                return "draft of the \(name) saved; pending: \(result.pending.map(\.field).joined(separator: ", ")); "
                    + "publish with `postgate publish \(result.address) --comment …`"
            }
        }
    }
}

/// What `connector set` prints.
struct GatewayEditResult<S: GatewaySettings>: Encodable {
    var address: String
    var direction: GatewayDirection
    var draft: GatewayView<S>.Side
    var pending: [ChannelSettings.Change]
    var published: Publication?

    enum CodingKeys: String, CodingKey { case address, direction, draft, pending, published }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(address, forKey: .address)
        try c.encode(direction, forKey: .direction)
        try c.encode(draft, forKey: .draft)
        try c.encode(pending, forKey: .pending)
        try c.encode(published, forKey: .published)
    }
}

/// The secrets given to `connector set`, as read; `.some("")` for a client secret clears it.
private struct Secrets {
    var password: String?
    var clientSecret: String??
    var refreshToken: String?

    /// Sealed with the data directory's key (made on first need), only when a secret is given.
    func sealed(by store: MailStore, keyFile: String?) throws(StoreError) -> SealedSecrets {
        guard password != nil || clientSecret != nil || refreshToken != nil else { return SealedSecrets() }
        let box = try store.secretBox(keyPath: keyFile)
        var result = SealedSecrets()
        if let password { result.password = try box.seal(password) }
        if let clientSecret { result.clientSecret = try clientSecret.map { (text) throws(StoreError) in try box.seal(text) } }
        if let refreshToken { result.refreshToken = try box.seal(refreshToken) }
        return result
    }
}

private struct SealedSecrets {
    var password: SealedSecret?
    var clientSecret: SealedSecret??
    var refreshToken: SealedSecret?
}

/// Reads a secret from `file` or standard input; one trailing newline is dropped, and an
/// empty secret is refused.
private func readSecret(file: String?, stdin: Bool, what: String) throws -> String? {
    let data: Data
    if let file {
        guard let contents = FileManager.default.contents(atPath: file) else { fail("cannot read the \(what) file \(file)") }
        data = contents
    } else if stdin {
        data = FileHandle.standardInput.readDataToEndOfFile()
    } else {
        return nil
    }
    guard var text = String(data: data, encoding: .utf8) else { fail("the \(what) is not UTF-8 text") }
    if text.hasSuffix("\r\n") { text.removeLast(1) } else if text.hasSuffix("\n") { text.removeLast() }
    guard !text.isEmpty else { fail("the \(what) is empty") }
    guard !text.contains(where: \.isNewline) else { fail("the \(what) must be one line") }
    return text
}

/// `readSecret` for an option where "" clears the secret.
private func readClearableSecret(file: String?, what: String) throws -> String?? {
    guard let file else { return nil }
    if file.isEmpty { return .some(nil) }
    return .some(try readSecret(file: file, stdin: false, what: what))
}

/// A port given on the command line: 1-65535 checked by validation, or `default`.
struct PortNumber: ExpressibleByArgument {
    var value: Int?

    init?(argument: String) {
        if argument.lowercased() == "default" { value = nil; return }
        guard let number = Int(argument) else { return nil }
        value = number
    }
}

/// A size in bytes, optionally with K, M or G (binary multiples): `10M` is 10 MiB.
struct ByteSize: ExpressibleByArgument {
    var bytes: Int

    init?(argument: String) {
        let text = argument.uppercased().replacingOccurrences(of: "IB", with: "").replacingOccurrences(of: "B", with: "")
        let multiplier: Int
        var digits = Substring(text)
        switch text.last ?? " " {
        case "K": multiplier = 1 << 10; digits = digits.dropLast()
        case "M": multiplier = 1 << 20; digits = digits.dropLast()
        case "G": multiplier = 1 << 30; digits = digits.dropLast()
        default: multiplier = 1
        }
        guard let number = Int(digits), number >= 0, number <= Int.max / multiplier else { return nil }
        bytes = number * multiplier
    }
}

extension MailboxProtocol: ExpressibleByArgument {}
extension SubmissionProtocol: ExpressibleByArgument {}
extension GatewayTLSMode: ExpressibleByArgument {}
extension GatewayAuthentication: ExpressibleByArgument {}
extension OAuthMechanism: ExpressibleByArgument {}
extension FetchedMailAction: ExpressibleByArgument {}
