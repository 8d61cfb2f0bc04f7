import PostgateStore

/// Where outbound mail goes: one smarthost for everything, or each recipient domain's own
/// mail exchangers (RFC 5321 section 5.1) found through an `OutboundResolver`.
public enum NextHop: Sendable {
    case smarthost(SMTPEndpoint)
    case mx(resolver: any OutboundResolver, port: Int, tls: SMTPTLSPolicy)

    /// The key that groups recipients sent in one transaction: all of them for a smarthost,
    /// one group per (lower-case) domain for MX delivery.
    public func groupKey(_ recipient: String) -> String {
        switch self {
        case .smarthost: return ""
        case .mx:
            guard let at = recipient.lastIndex(of: "@") else { return "" }
            return recipient[recipient.index(after: at)...].lowercased()
        }
    }

    /// The servers to try for the group `key`, in order, or the outcome that ends the
    /// attempt without one (a failed lookup is temporary; a null MX or NXDOMAIN permanent).
    public func endpoints(for key: String) async -> Result<[SMTPEndpoint], OutboundFailure> {
        switch self {
        case .smarthost(let endpoint):
            return .success([endpoint])
        case .mx(let resolver, let port, let tls):
            return await MXPlanner(resolver: resolver, port: port, tls: tls).endpoints(for: key)
        }
    }
}

/// An outcome for every recipient of a group, when no server could be tried.
public struct OutboundFailure: Error, Sendable, Equatable {
    public var outcome: OutboundRecipientOutcome

    public init(_ outcome: OutboundRecipientOutcome) {
        self.outcome = outcome
    }
}

/// The sending gateway of an envelope sender: the submission server its replies leave
/// through, with credentials ready (a password, or an OAuth 2.0 access token just obtained);
/// nil when the sender has none. A thrown error is a temporary failure of the delivery.
public typealias SenderRoutes = @Sendable (String) async throws -> SenderRoute?

/// Where a sender's replies leave: its provider's submission server, or another way its
/// provider takes a message (`MessageSubmitter`), and whether a copy of each goes into the
/// provider mailbox's Sent folder by IMAP.
public struct SenderRoute: Sendable {
    public enum Handoff: Sendable {
        case smtp(SMTPEndpoint)
        case submitter(any MessageSubmitter)
    }

    public var handoff: Handoff
    public var saveToSent: Bool

    public init(endpoint: SMTPEndpoint, saveToSent: Bool = false) {
        self.handoff = .smtp(endpoint)
        self.saveToSent = saveToSent
    }

    /// A provider that keeps its own copy of what it sends: no Sent copy is appended.
    public init(submitter: any MessageSubmitter) {
        self.handoff = .submitter(submitter)
        self.saveToSent = false
    }
}

/// Hands a message to the sender's provider by other means than SMTP (an HTTP API), for
/// every recipient at once; one outcome per recipient, in order.
public protocol MessageSubmitter: Sendable {
    func submit(_ request: SMTPDeliveryRequest) async -> [OutboundRecipientOutcome]
}

/// Stores a copy of a reply sent through a sending gateway in the provider mailbox's Sent
/// folder (IMAP APPEND, RFC 9051 section 6.3.12). A thrown error is retried later.
public protocol SentCopyWriter: Sendable {
    func storeSentCopy(_ message: [UInt8], sender: String) async throws
}
