import Foundation
import PostgateMaildir

/// How a gateway reaches the customer's server and logs in: the settings receiving and
/// sending gateways share, embedded in both.
///
/// Secrets (`password`, `oauth.clientSecret`, `oauth.refreshToken`) are held as
/// `SealedSecret`: encrypted with the data directory's secret key, never printed, logged
/// or exported.
public struct GatewayConnectionSettings: Sendable, Codable, Equatable {
    public var host: String = ""
    /// nil means the protocol's default for the TLS mode: IMAP 993 implicit / 143 STARTTLS,
    /// POP3 995 implicit / 110 STLS, submission 465 implicit / 587 STARTTLS.
    public var port: Int?
    public var tls: GatewayTLSMode
    public var username: String = ""
    public var auth: GatewayAuthentication = .password
    public var password: SealedSecret?
    public var oauth: OAuthClientSettings?
    /// A PEM file of CA certificates trusted for this server, for providers with a private CA.
    public var caFile: String?
    /// Connecting, the TLS handshake and each response must finish within this time.
    public var connectionTimeoutMS: Int = 30_000
    /// Allow LOGIN/USER/AUTH on a connection without TLS (`tls: none`). Off by default.
    public var allowPlaintext = false
    /// Microsoft Graph gateways: the API's base URL; nil means the global service,
    /// `GatewayConnectionSettings.defaultGraphURL`. National clouds and test endpoints differ.
    public var graphURL: String?

    /// The global Microsoft Graph service, version 1.0.
    public static let defaultGraphURL = "https://graph.microsoft.com/v1.0"
    /// The token endpoint of a Graph gateway whose `oauth.tokenEndpoint` is empty (the
    /// Microsoft identity platform's v2.0 endpoint; `{tenant}` is the directory tenant).
    public static let defaultGraphTokenEndpoint = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"

    /// The Graph base URL in use: `graphURL`, or the global service.
    public var effectiveGraphURL: String { graphURL ?? Self.defaultGraphURL }

    public init(tls: GatewayTLSMode) {
        self.tls = tls
    }
}

/// What a receiving gateway fetches and how often, beside its connection.
public struct FetchSettings: Sendable, Codable, Equatable {
    /// IMAP4rev1/rev2 (RFC 3501, RFC 9051), POP3 (RFC 1939), or Microsoft Graph's mail API.
    public var kind: MailboxProtocol = .imap
    /// Consecutive failed attempts before the gateway cools off.
    public var maxTries: Int = 3
    /// How long the gateway rests after `maxTries` failures; after a second run of failures
    /// at the end of a cool-off it is Failed and waits for the administrator.
    public var coolOffMinutes: Int = 15
    /// Windows in which the gateway does not connect, `HH:MM-HH:MM` in `timeZone`; a window
    /// may pass midnight (`22:00-02:00`).
    public var skipTimes: [String] = []
    /// An IANA time zone name (`Europe/Berlin`) for `skipTimes`.
    public var timeZone: String = "UTC"
    /// Messages received (IMAP INTERNALDATE) before this day are not fetched; nil fetches all.
    /// `YYYY-MM-DD`, in `timeZone`.
    public var syncStartDate: String?
    /// IMAP folders fetched; ignored with `syncAllFolders`. POP3 has only the one maildrop.
    public var folders: [String] = ["INBOX"]
    /// Fetch INBOX, its subfolders and every other folder except Trash and Junk (RFC 6154
    /// `\Trash`, `\Junk`, and folders so named) unless named in `folders`.
    public var syncAllFolders = false
    /// POP3: delete each message on the server once it is stored here (RFC 1939 DELE,
    /// committed by QUIT); false leaves it on the server.
    public var deleteAfterDownload = false
    /// IMAP: what to do with a fetched message on the server.
    public var afterFetch: FetchedMailAction = .leave
    /// IMAP: the folder fetched mail is moved to when `afterFetch` is `move`.
    public var moveToFolder: String?
    /// Seconds between polls when the server offers no IDLE (RFC 2177), or `useIdle` is off.
    public var pollIntervalSeconds: Int = 60
    /// Wait for new mail with IMAP IDLE where the server offers it.
    public var useIdle = true
    /// Larger messages are not fetched: they are recorded as skipped with their remote id.
    public var maxMessageBytes: Int = 50 * 1024 * 1024
    /// Graph: read a Microsoft 365 group's conversations (its object id, a GUID, or its mail
    /// address) instead of a user's mailbox; each new post becomes a message. nil reads the
    /// mailbox named by the connection's `username`. Absent from settings stored before.
    public var group: String?

    public init() {}
}

/// A mailbox connector's settings: how a channel address receives from the customer's own
/// mailbox (a receiving gateway, IMAP or POP3).
///
/// Edits are drafts until published, as address settings are: `postgate connector set`
/// writes the draft, `postgate publish` makes it live. A gateway that was never published
/// is a Draft; a published one is Active (and may carry a newer draft).
///
/// The JSON form is one flat object: the connection's keys beside the fetch settings' keys
/// (`host`, `username`, …, `folders`, `afterFetch`), as stored and shown.
@dynamicMemberLookup
public struct ReceivingGatewaySettings: Sendable, Equatable {
    public var connection = GatewayConnectionSettings(tls: .implicit)
    public var fetch = FetchSettings()

    public init() {}

    public subscript<T>(dynamicMember path: WritableKeyPath<FetchSettings, T>) -> T {
        get { fetch[keyPath: path] }
        set { fetch[keyPath: path] = newValue }
    }
}

/// How a sending gateway hands replies over, and where its copies of sent replies go,
/// beside its connection.
public struct SentCopySettings: Sendable, Codable, Equatable {
    /// SMTP submission (RFC 6409), or Microsoft Graph's `sendMail` with the MIME message.
    public var kind: SubmissionProtocol = .smtp
    /// Also store each sent reply in the provider mailbox's Sent folder: by IMAP APPEND through
    /// the address's IMAP receiving gateway. Graph keeps every message it sends as MIME in
    /// Sent Items itself, so a Graph gateway always has it on.
    public var saveToSent = false
    /// The folder for `saveToSent`; nil means the folder with the `\Sent` attribute (RFC 6154).
    public var sentFolder: String?

    public init() {}

    private enum CodingKeys: String, CodingKey {
        case kind, saveToSent, sentFolder
    }

    /// Settings stored before `kind` existed are SMTP gateways.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decodeIfPresent(SubmissionProtocol.self, forKey: .kind) ?? .smtp
        saveToSent = try c.decode(Bool.self, forKey: .saveToSent)
        sentFolder = try c.decodeIfPresent(String.self, forKey: .sentFolder)
    }
}

/// A sending gateway: the customer's SMTP submission server (RFC 6409) that replies of the
/// address leave through, instead of the gateway's smarthost or MX delivery. Its JSON form
/// is one flat object, as the receiving gateway's.
@dynamicMemberLookup
public struct SendingGatewaySettings: Sendable, Equatable {
    public var connection = GatewayConnectionSettings(tls: .starttls)
    public var sentCopy = SentCopySettings()

    public init() {}

    public subscript<T>(dynamicMember path: WritableKeyPath<SentCopySettings, T>) -> T {
        get { sentCopy[keyPath: path] }
        set { sentCopy[keyPath: path] = newValue }
    }
}

/// Settings made of the shared connection and the settings of their kind, stored and shown
/// as one flat JSON object (the form every stored draft and publication has).
public protocol FlatGatewaySettings: Codable {
    associatedtype Specific: Codable
    var connection: GatewayConnectionSettings { get set }
    var specific: Specific { get set }
    init()
}

extension FlatGatewaySettings {
    /// Reads the flat object: the connection's keys and the kind's keys from one level.
    init(flat decoder: any Decoder) throws {
        self.init()
        connection = try GatewayConnectionSettings(from: decoder)
        specific = try Specific(from: decoder)
    }

    /// Writes the flat object: both parts' keys into one container.
    func encodeFlat(to encoder: any Encoder) throws {
        try connection.encode(to: encoder)
        try specific.encode(to: encoder)
    }

    public subscript<T>(dynamicMember path: WritableKeyPath<GatewayConnectionSettings, T>) -> T {
        get { connection[keyPath: path] }
        set { connection[keyPath: path] = newValue }
    }
}

extension ReceivingGatewaySettings: FlatGatewaySettings {
    public var specific: FetchSettings {
        get { fetch }
        set { fetch = newValue }
    }

    public init(from decoder: any Decoder) throws { try self.init(flat: decoder) }
    public func encode(to encoder: any Encoder) throws { try encodeFlat(to: encoder) }
}

extension SendingGatewaySettings: FlatGatewaySettings {
    public var specific: SentCopySettings {
        get { sentCopy }
        set { sentCopy = newValue }
    }

    public init(from decoder: any Decoder) throws { try self.init(flat: decoder) }
    public func encode(to encoder: any Encoder) throws { try encodeFlat(to: encoder) }
}

/// OAuth 2.0 client settings for a gateway (RFC 6749 refresh-token grant; SASL XOAUTH2 or
/// OAUTHBEARER, RFC 7628).
public struct OAuthClientSettings: Sendable, Codable, Equatable {
    /// The directory tenant, substituted for `{tenant}` in `tokenEndpoint`.
    public var tenant: String?
    public var clientID: String = ""
    public var clientSecret: SealedSecret?
    public var scope: String?
    /// The token endpoint URL (RFC 6749 section 3.2).
    public var tokenEndpoint: String = ""
    public var refreshToken: SealedSecret?
    /// XOAUTH2 or OAUTHBEARER (RFC 7628).
    public var mechanism: OAuthMechanism = .xoauth2

    public init() {}
}

/// Which way a gateway carries mail for its address; an address has at most one of each.
public enum GatewayDirection: String, Sendable, Codable, CaseIterable {
    /// Fetches from the customer's mailbox (`ReceivingGatewaySettings`).
    case receiving
    /// Sends replies through the customer's submission server (`SendingGatewaySettings`).
    case sending
}

/// What the two kinds of gateway settings share for drafts, publishing and display.
public protocol GatewaySettings: FlatGatewaySettings, Sendable, Equatable {
    static var direction: GatewayDirection { get }
    /// The settings checked against every rule that needs no store, in canonical form.
    func validated() throws(StoreError) -> Self
    /// The protocol spoken: `imap`, `pop3` or `smtp`.
    var protocolName: String { get }
}

extension GatewaySettings {
    /// The sealed secrets by field name (`password`, `oauth.clientSecret`,
    /// `oauth.refreshToken`), nil where not set.
    public var secrets: [(field: String, value: SealedSecret?)] {
        [("password", connection.password), ("oauth.clientSecret", connection.oauth?.clientSecret),
         ("oauth.refreshToken", connection.oauth?.refreshToken)]
    }

    /// A copy with every secret removed, for export and display.
    public var withoutSecrets: Self {
        var copy = self
        copy.connection.password = nil
        copy.connection.oauth = connection.oauth?.withoutSecrets
        return copy
    }
}

public enum MailboxProtocol: String, Sendable, Codable, CaseIterable {
    case imap
    case pop3
    /// Microsoft Graph: delta queries on mail folders, each message's MIME by `$value`; or
    /// a Microsoft 365 group's conversation threads and posts (`FetchSettings.group`).
    case graph
}

/// How a sending gateway hands a reply to the customer's provider.
public enum SubmissionProtocol: String, Sendable, Codable, CaseIterable {
    /// SMTP submission (RFC 6409) with AUTH.
    case smtp
    /// Microsoft Graph `POST /users/{id}/sendMail`, the MIME message as base64.
    case graph
}

/// How a gateway's connection is protected.
public enum GatewayTLSMode: String, Sendable, Codable, CaseIterable {
    /// TLS from the first byte (RFC 8314).
    case implicit
    /// STARTTLS / STLS before authenticating (RFC 3207, RFC 2595); refused if not offered.
    case starttls
    /// No TLS: only with `allowPlaintext`, for a server on a trusted network.
    case none
}

public enum GatewayAuthentication: String, Sendable, Codable, CaseIterable {
    case password
    case oauth2
}

public enum OAuthMechanism: String, Sendable, Codable, CaseIterable {
    case xoauth2
    case oauthbearer
}

/// What a receiving IMAP gateway does with a message on the server once it is stored here.
public enum FetchedMailAction: String, Sendable, Codable, CaseIterable {
    case leave
    /// Add `\Seen` (RFC 3501 section 2.3.2).
    case markSeen = "seen"
    /// Move to `moveToFolder` (RFC 6851, or COPY + `\Deleted` + UID EXPUNGE).
    case move
}

/// A gateway of an address, as stored: the published settings (nil while a Draft) and the
/// pending draft.
public struct GatewayRecord<Settings: Sendable & Codable & Equatable>: Sendable, Equatable {
    public var address: String
    public var published: Settings?
    public var draft: Settings?

    public init(address: String, published: Settings?, draft: Settings?) {
        self.address = address
        self.published = published
        self.draft = draft
    }

    /// Draft until first published, Active after.
    public var status: GatewayStatus { published == nil ? .draft : .active }
}

public enum GatewayStatus: String, Sendable, Codable {
    case draft = "Draft"
    case active = "Active"
}

/// A secret encrypted with the data directory's secret key (`SecretBox`): AES-256-GCM,
/// stored as `aes256gcm:` and the base64 of nonce, ciphertext and tag. Its description never
/// shows the secret, so printing or logging settings cannot leak it.
public struct SealedSecret: Sendable, Codable, Equatable, CustomStringConvertible {
    public var sealed: String

    public init(sealed: String) {
        self.sealed = sealed
    }

    public init(from decoder: any Decoder) throws {
        sealed = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(sealed)
    }

    public var description: String { "(secret)" }
}
