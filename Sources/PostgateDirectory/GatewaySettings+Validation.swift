import Foundation
import PostgateMessage
import PostgateMaildir

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension ReceivingGatewaySettings: GatewaySettings {
    public static var direction: GatewayDirection { .receiving }

    public var protocolName: String { fetch.kind.rawValue }

    /// Checks every rule that needs no store; the text of the error names the setting and
    /// the rule. Returns the settings in canonical form (host as lower-case A-labels or a
    /// bare IP address).
    public func validated() throws(StoreError) -> ReceivingGatewaySettings {
        var s = self
        if s.fetch.group?.isEmpty == true { s.fetch.group = nil }
        // Only Graph reads a Microsoft 365 group; another kind has no group to keep.
        if s.fetch.kind != .graph { s.fetch.group = nil }
        try s.connection.check(graph: s.fetch.kind == .graph, group: s.fetch.group != nil)
        try s.fetch.check()
        return s
    }

    /// A Microsoft 365 group as a setting: its object id (a GUID, kept in lower case) or its
    /// mail address (RFC 5321 section 4.1.2 syntax, kept as written).
    static func canonicalGroup(_ text: String) throws(StoreError) -> String {
        if let id = UUID(uuidString: text) { return id.uuidString.lowercased() }
        guard text.contains("@"), (try? EmailAddress(text)) != nil else {
            throw .invalidSetting("the group '\(text)' is neither a group id (a GUID such as 02bd9fd6-8f93-4758-87c3-1fb73740a315) nor a mail address; `postgate connector groups ADDRESS` lists them")
        }
        return text
    }

    /// `HH:MM-HH:MM`, 24-hour, start and end different (a window may pass midnight).
    static func checkSkipTime(_ window: String) throws(StoreError) {
        let parts = window.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let start = minutes(of: parts[0]), let end = minutes(of: parts[1]) else {
            throw .invalidSetting("skip time '\(window)' is not HH:MM-HH:MM (24-hour, such as 22:00-06:00)")
        }
        guard start != end else {
            throw .invalidSetting("skip time '\(window)' starts and ends at the same minute; give a window such as 22:00-06:00")
        }
    }

    private static func minutes(of text: Substring) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCIIDigit) }),
              let hour = Int(parts[0]), let minute = Int(parts[1]), hour < 24, minute < 60 else { return nil }
        return hour * 60 + minute
    }

    /// `YYYY-MM-DD`, a day of the Gregorian calendar.
    static func checkDay(_ text: String) throws(StoreError) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        var components = DateComponents()
        if parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
           parts.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }) {
            components.year = Int(parts[0])
            components.month = Int(parts[1])
            components.day = Int(parts[2])
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard components.year != nil, components.isValidDate(in: calendar) else {
            throw .invalidSetting("sync start date '\(text)' is not a day written YYYY-MM-DD")
        }
    }

    /// A folder name goes into IMAP commands: no line breaks or NUL (RFC 3501 section 9,
    /// `mailbox` is an astring or literal, and a literal may not carry NUL).
    static func checkFolderName(_ name: String) throws(StoreError) {
        guard !name.isEmpty else { throw .invalidSetting("a folder name must not be empty") }
        guard !name.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
            throw .invalidSetting("folder name \(name.debugDescription) must not contain CR, LF or NUL")
        }
    }

    static func range(_ name: String, _ value: Int, _ range: ClosedRange<Int>) throws(StoreError) {
        guard range.contains(value) else {
            throw .invalidSetting("\(name) must be from \(range.lowerBound) to \(range.upperBound), not \(value)")
        }
    }
}

extension FetchSettings {
    /// Checks the fetch settings; `moveToFolder` is dropped unless IMAP moves fetched mail.
    mutating func check() throws(StoreError) {
        try ReceivingGatewaySettings.range("max tries", maxTries, 1...100)
        try ReceivingGatewaySettings.range("cool-off minutes", coolOffMinutes, 1...10_080)
        try ReceivingGatewaySettings.range("poll interval (seconds)", pollIntervalSeconds, 10...86_400)
        try ReceivingGatewaySettings.range("max message size (bytes)", maxMessageBytes, 1024...(1 << 30))
        for window in skipTimes { try ReceivingGatewaySettings.checkSkipTime(window) }
        guard TimeZone(identifier: timeZone) != nil else {
            throw .invalidSetting("time zone '\(timeZone)' is not a known time zone name (such as Europe/Berlin or UTC)")
        }
        if let day = syncStartDate { try ReceivingGatewaySettings.checkDay(day) }
        for folder in folders + [moveToFolder].compactMap({ $0 }) {
            try ReceivingGatewaySettings.checkFolderName(folder)
        }
        switch kind {
        case .imap:
            guard syncAllFolders || !folders.isEmpty else {
                throw .invalidSetting("an IMAP gateway needs at least one folder to fetch (--folder NAME), or --sync-all-folders true")
            }
            guard !deleteAfterDownload else {
                throw .invalidSetting("delete after download is a POP3 setting; for IMAP use --after-fetch leave|seen|move")
            }
            if afterFetch == .move {
                guard let target = moveToFolder, !target.isEmpty else {
                    throw .invalidSetting("--after-fetch move needs the folder to move to: --move-to-folder NAME")
                }
            } else {
                moveToFolder = nil
            }
        case .graph where group != nil:
            group = try ReceivingGatewaySettings.canonicalGroup(group ?? "")
            guard !syncAllFolders, folders == FetchSettings().folders else {
                throw .invalidSetting("folders are a mailbox setting: a group is read as its conversation threads; clear them with --folder INBOX --sync-all-folders false, or read a mailbox (--group \"\" --username USER)")
            }
            guard afterFetch == .leave, !deleteAfterDownload else {
                throw .invalidSetting("a group's posts are left as they are: --after-fetch and --delete-after-download are for a mailbox (--after-fetch leave)")
            }
            moveToFolder = nil
        case .graph:
            guard syncAllFolders || !folders.isEmpty else {
                throw .invalidSetting("a Graph gateway needs at least one folder to fetch (--folder inbox or a folder's name), or --sync-all-folders true")
            }
            guard !deleteAfterDownload else {
                throw .invalidSetting("delete after download is a POP3 setting; for Graph use --after-fetch leave|seen|move")
            }
            if afterFetch == .move {
                guard let target = moveToFolder, !target.isEmpty else {
                    throw .invalidSetting("--after-fetch move needs the folder to move to: --move-to-folder NAME")
                }
            } else {
                moveToFolder = nil
            }
        case .pop3:
            guard afterFetch == .leave, moveToFolder == nil else {
                throw .invalidSetting("what to do after fetching (--after-fetch, --move-to-folder) is an IMAP setting; for POP3 use --delete-after-download true|false")
            }
            guard !syncAllFolders, folders == ["INBOX"] else {
                throw .invalidSetting("folders are an IMAP setting: a POP3 mailbox has only its one maildrop")
            }
        }
    }
}

extension SendingGatewaySettings: GatewaySettings {
    public static var direction: GatewayDirection { .sending }

    public var protocolName: String { sentCopy.kind.rawValue }

    /// Checks every rule that needs no store (that `saveToSent` has an IMAP receiving
    /// gateway to append through is checked by the directory). A Graph gateway's copy is
    /// kept in Sent Items by Graph itself: `saveToSent` is on and names no folder.
    public func validated() throws(StoreError) -> SendingGatewaySettings {
        var s = self
        try s.connection.check(graph: s.sentCopy.kind == .graph)
        if s.sentCopy.kind == .graph {
            guard s.sentCopy.sentFolder == nil || s.sentCopy.sentFolder == "" else {
                throw .invalidSetting("Graph keeps each message it sends in Sent Items; a Graph sending gateway takes no --sent-folder")
            }
            s.sentCopy.saveToSent = true
            s.sentCopy.sentFolder = nil
            return s
        }
        if let folder = sentCopy.sentFolder {
            if folder.isEmpty { s.sentCopy.sentFolder = nil } else { try ReceivingGatewaySettings.checkFolderName(folder) }
        }
        return s
    }
}

extension OAuthClientSettings {
    var withoutSecrets: OAuthClientSettings {
        var copy = self
        copy.clientSecret = nil
        copy.refreshToken = nil
        return copy
    }
}

extension GatewayConnectionSettings {
    /// Checks the connection settings both kinds of gateway have, and puts the host in
    /// canonical form (lower-case A-labels or a bare IP address).
    /// `group`: a Graph gateway that reads a Microsoft 365 group, not a user's mailbox.
    mutating func check(graph: Bool, group: Bool = false) throws(StoreError) {
        if graph {
            try checkGraph(group: group)
            return
        }
        graphURL = nil
        guard !host.isEmpty else { throw .invalidSetting("the gateway needs a server: --host NAME") }
        host = try Self.canonicalHost(host)
        if let port {
            try ReceivingGatewaySettings.range("port", port, 1...65_535)
        }
        guard !username.isEmpty else { throw .invalidSetting("the gateway needs the user name it logs in with: --username NAME") }
        guard !username.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalidSetting("the user name must not contain control characters")
        }
        if tls == .none, !allowPlaintext {
            throw .invalidSetting("--tls none sends the password in clear text; it needs --allow-plaintext true (only for a server on a trusted network)")
        }
        try ReceivingGatewaySettings.range("connection timeout (ms)", connectionTimeoutMS, 1000...600_000)
        switch auth {
        case .password:
            guard password != nil else {
                throw .invalidSetting("password authentication needs the password: --password-file FILE or --password-stdin")
            }
        case .oauth2:
            guard let oauth else {
                throw .invalidSetting("OAuth 2.0 needs --oauth-client-id, --oauth-token-endpoint and --oauth-refresh-token-file")
            }
            guard !oauth.clientID.isEmpty else { throw .invalidSetting("OAuth 2.0 needs the client id: --oauth-client-id ID") }
            try Self.checkTokenEndpoint(oauth.tokenEndpoint)
            guard oauth.refreshToken != nil else {
                throw .invalidSetting("OAuth 2.0 needs the refresh token: --oauth-refresh-token-file FILE")
            }
        }
        try checkCAFile()
    }

    /// A Microsoft Graph gateway: the mailbox (`username`, a user id or user principal name),
    /// OAuth 2.0 with the client credentials grant (a client secret) or a delegated refresh
    /// token, and the Graph base URL. The host shown and put in trace fields is the base
    /// URL's; the port and TLS mode are those of its https URL.
    private mutating func checkGraph(group: Bool) throws(StoreError) {
        if let url = graphURL, url.isEmpty || url == Self.defaultGraphURL { graphURL = nil }
        let base = effectiveGraphURL
        try Self.checkHTTPURL(base, what: "the Graph URL", option: "--graph-url")
        guard let components = URLComponents(string: base), components.query == nil, components.fragment == nil,
              let baseHost = components.host else {
            throw .invalidSetting("the Graph URL '\(base)' must be a base URL such as \(Self.defaultGraphURL), without a query")
        }
        host = baseHost.lowercased()
        port = nil
        tls = .implicit
        allowPlaintext = false
        password = nil
        if group {
            guard username.isEmpty else {
                throw .invalidSetting("a Graph gateway reads either a user's mailbox (--username USER) or a Microsoft 365 group (--group ID), not both; clear one with \"\"")
            }
        } else if username.isEmpty {
            throw .invalidSetting("a Graph gateway needs the mailbox: --username USER (its user principal name or id), or a Microsoft 365 group: --group ID")
        }
        guard !username.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == "/" || $0 == "?" || $0 == "#" }) else {
            throw .invalidSetting("the Graph mailbox '\(username)' must be a user principal name or id, without control characters, '/', '?' or '#'")
        }
        try ReceivingGatewaySettings.range("connection timeout (ms)", connectionTimeoutMS, 1000...600_000)
        guard auth == .oauth2, var oauth else {
            throw .invalidSetting("a Graph gateway authenticates with OAuth 2.0: --auth oauth2 --oauth-client-id ID --oauth-tenant TENANT --oauth-client-secret-file FILE")
        }
        guard !oauth.clientID.isEmpty else { throw .invalidSetting("OAuth 2.0 needs the client id: --oauth-client-id ID") }
        if oauth.tokenEndpoint.isEmpty { oauth.tokenEndpoint = Self.defaultGraphTokenEndpoint }
        try Self.checkTokenEndpoint(oauth.tokenEndpoint)
        if oauth.tokenEndpoint.contains("{tenant}"), (oauth.tenant ?? "").isEmpty {
            throw .invalidSetting("the token endpoint \(oauth.tokenEndpoint) names a {tenant}: give the directory tenant with --oauth-tenant TENANT")
        }
        guard oauth.refreshToken != nil || oauth.clientSecret != nil else {
            throw .invalidSetting("a Graph gateway needs the application's client secret (--oauth-client-secret-file FILE) or a delegated refresh token (--oauth-refresh-token-file FILE)")
        }
        self.oauth = oauth
        try checkCAFile()
    }

    private mutating func checkCAFile() throws(StoreError) {
        if let file = caFile {
            if file.isEmpty {
                caFile = nil
            } else {
                guard access(file, R_OK) == 0 else {
                    throw .invalidSetting("CA file \(file) cannot be read: \(String(cString: strerror(errno)))")
                }
            }
        }
    }

    /// A host name (IDNA, stored as A-labels) or an IPv4/IPv6 address (brackets dropped).
    static func canonicalHost(_ text: String) throws(StoreError) -> String {
        let bare = text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text
        if isIPAddress(bare) { return bare }
        guard !DomainName.isAddressLiteral(text), let name = try? DomainName(text) else {
            throw .invalidSetting("host '\(text)' is not a valid host name or IP address")
        }
        return name.ascii
    }

    static func isIPAddress(_ text: String) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, text, &buffer) == 1 || inet_pton(AF_INET6, text, &buffer) == 1
    }

    /// An absolute http or https URL with a host (RFC 6749 section 3.2 requires TLS for the
    /// token endpoint); http only to a loopback host.
    static func checkTokenEndpoint(_ text: String) throws(StoreError) {
        guard !text.isEmpty else { throw .invalidSetting("OAuth 2.0 needs the token endpoint: --oauth-token-endpoint URL") }
        try checkHTTPURL(text.replacingOccurrences(of: "{tenant}", with: "tenant"), what: "the token endpoint", shown: text)
    }

    /// An absolute http or https URL with a host; http only to a loopback host (a bearer
    /// token or client secret never crosses a network in clear text).
    static func checkHTTPURL(_ text: String, what: String, option: String? = nil, shown: String? = nil) throws(StoreError) {
        let shown = shown ?? text
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty,
              scheme == "https" || scheme == "http" else {
            throw .invalidSetting("\(what) '\(shown)' is not an http or https URL" + (option.map { " (\($0))" } ?? ""))
        }
        if scheme == "http" {
            let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
            guard bare == "localhost" || bare == "::1" || bare.hasPrefix("127.") else {
                throw .invalidSetting("\(what) '\(shown)' must use https (http only to a loopback host)")
            }
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

extension GatewaySettings {
    /// The fields that differ from `published` (nil for a gateway never published), named
    /// `receiving.host`, `sending.oauth.clientID`…; a secret's values are never shown, only
    /// `(set)` before and `(changed)` after.
    public func changes(from published: Self?) -> [ChannelSettings.Change] {
        let prefix = Self.direction.rawValue + "."
        let before = published.map { Self.flatFields($0.withoutSecrets) } ?? [:]
        let after = Self.flatFields(withoutSecrets)
        var changes: [ChannelSettings.Change] = []
        for key in Set(before.keys).union(after.keys).sorted() {
            let old = before[key] ?? "null"
            let new = after[key] ?? "null"
            if old != new { changes.append(.init(field: prefix + key, published: old, draft: new)) }
        }
        let oldSecrets = published?.secrets ?? secrets.map { (field: $0.field, value: SealedSecret?.none) }
        for (old, new) in zip(oldSecrets, secrets) where old.value != new.value {
            changes.append(.init(field: prefix + new.field, published: old.value == nil ? "null" : "(set)",
                                 draft: new.value == nil ? "null" : "(changed)"))
        }
        return changes
    }

    /// Each leaf of the JSON form as compact JSON text, nested keys joined with dots.
    fileprivate static func flatFields(_ settings: Self) -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(settings),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        var fields: [String: String] = [:]
        func add(_ value: Any, _ key: String) {
            if let nested = value as? [String: Any] {
                for (name, inner) in nested { add(inner, key + "." + name) }
                return
            }
            let text = (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes]))
                .flatMap { String(data: $0, encoding: .utf8) } ?? "null"
            fields[key] = text
        }
        for (name, value) in object { add(value, name) }
        return fields
    }
}

extension GatewaySettings {
    /// Every setting as (field, JSON text) for people, nested fields joined with dots; each
    /// secret only as `"set"` or `"not set"`.
    public var displayFields: [(field: String, value: String)] {
        var fields = Self.flatFields(withoutSecrets)
        for (field, value) in secrets { fields[field] = value == nil ? "\"not set\"" : "\"set\"" }
        return fields.sorted { $0.key < $1.key }.map { (field: $0.key, value: $0.value) }
    }

    /// Each secret's field name with `set` or `not set`: all that is ever shown of a secret.
    public var secretStatus: [String: String] {
        Dictionary(uniqueKeysWithValues: secrets.map { ($0.field, $0.value == nil ? "not set" : "set") })
    }
}
