import Foundation
import PostgateMaildir

/// A mailbox connector's settings: how a channel address receives from the customer's own
/// mailbox (a receiving gateway, IMAP or POP3) or sends through the customer's own server
/// (a sending gateway, SMTP submission).
///
/// Edits are drafts until published, as address settings are: `postgate connector set`
/// writes the draft, `postgate publish` makes it live. A gateway that was never published
/// is a Draft; a published one is Active (and may carry a newer draft).
///
/// Secrets (`password`, `oauth.clientSecret`, `oauth.refreshToken`) are held as
/// `SealedSecret`: encrypted with the data directory's secret key, never printed, logged
/// or exported. The JSON form uses these property names.
public struct ReceivingGatewaySettings: Sendable, Codable, Equatable {
    /// IMAP4rev1/rev2 (RFC 3501, RFC 9051) or POP3 (RFC 1939).
    public var kind: MailboxProtocol = .imap
    public var host: String = ""
    /// nil means the protocol's default for the TLS mode: IMAP 993 implicit / 143 STARTTLS,
    /// POP3 995 implicit / 110 STLS.
    public var port: Int?
    public var tls: GatewayTLSMode = .implicit
    public var username: String = ""
    public var auth: GatewayAuthentication = .password
    public var password: SealedSecret?
    public var oauth: OAuthClientSettings?
    /// A PEM file of CA certificates trusted for this server, for providers with a private CA.
    public var caFile: String?
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
    /// Connecting, the TLS handshake and each response must finish within this time.
    public var connectionTimeoutMS: Int = 30_000
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
    /// Allow LOGIN/USER/AUTH on a connection without TLS (`tls: none`). Off by default.
    public var allowPlaintext = false

    public init() {}
}

/// A sending gateway: the customer's SMTP submission server (RFC 6409) that replies of the
/// address leave through, instead of the gateway's smarthost or MX delivery.
public struct SendingGatewaySettings: Sendable, Codable, Equatable {
    public var host: String = ""
    /// nil means 465 for implicit TLS (RFC 8314), 587 for STARTTLS.
    public var port: Int?
    public var tls: GatewayTLSMode = .starttls
    public var username: String = ""
    public var auth: GatewayAuthentication = .password
    public var password: SealedSecret?
    public var oauth: OAuthClientSettings?
    public var caFile: String?
    public var connectionTimeoutMS: Int = 30_000
    /// Also store each sent reply in the provider mailbox's Sent folder by IMAP APPEND,
    /// through the address's IMAP receiving gateway.
    public var saveToSent = false
    /// The folder for `saveToSent`; nil means the folder with the `\Sent` attribute (RFC 6154).
    public var sentFolder: String?
    public var allowPlaintext = false

    public init() {}
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
public protocol GatewaySettings: Sendable, Codable, Equatable {
    static var direction: GatewayDirection { get }
    init()
    /// The settings checked against every rule that needs no store, in canonical form.
    func validated() throws(StoreError) -> Self
    /// The sealed secrets by field name (`password`, `oauth.clientSecret`,
    /// `oauth.refreshToken`), nil where not set.
    var secrets: [(field: String, value: SealedSecret?)] { get }
    /// A copy with every secret removed, for export and display.
    var withoutSecrets: Self { get }
    /// The protocol spoken: `imap`, `pop3` or `smtp`.
    var protocolName: String { get }
    var host: String { get }
}

public enum MailboxProtocol: String, Sendable, Codable, CaseIterable {
    case imap
    case pop3
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
