import Foundation
import PostgateMessage
import PostgatePolicy

/// An address's auto-reply settings as the decision needs them (its published channel
/// settings, with the gateway's default for the hourly cap).
public struct AutoReplyRules: Sendable, Equatable {
    /// Which kinds are switched on.
    public var enabled: Set<AutoReplyKind>
    /// nil: once per session (the message that opens it); else at most once per customer
    /// and address in this many hours, whichever message of a session it is.
    public var periodHours: Int?
    /// The most auto-replies from the address to one sender in any hour.
    public var hourlyCap: Int

    public init(enabled: Set<AutoReplyKind> = [], periodHours: Int? = nil, hourlyCap: Int = 3) {
        self.enabled = enabled
        self.periodHours = periodHours
        self.hourlyCap = hourlyCap
    }
}

/// What one received message tells the decision: a value, gathered after the message is
/// durable in the address's mailbox.
public struct AutoReplyFacts: Sendable {
    public var header: MessageHeader
    /// The envelope sender (MAIL FROM, or a fetched message's Return-Path); `""` for `<>`.
    public var envelopeSender: String
    /// The inbound policy's label on the stored message; nil for an ordinary message.
    public var policyLabel: String?
    /// Whether the message opened its session (a new thread, or the previous one had expired).
    public var opensSession: Bool
    /// Whether the address's calendar is open at the message's arrival (true without one).
    public var inWorkingHours: Bool

    public init(header: MessageHeader, envelopeSender: String, policyLabel: String?, opensSession: Bool, inWorkingHours: Bool) {
        self.header = header
        self.envelopeSender = envelopeSender
        self.policyLabel = policyLabel
        self.opensSession = opensSession
        self.inWorkingHours = inWorkingHours
    }
}

/// The auto-replies already sent, read in the same transaction that queues the next one.
public struct AutoReplyHistory: Sendable, Equatable {
    /// From the address to the recipient in the last hour.
    public var sentLastHour: Int
    /// The last one from the address to the recipient; nil for none.
    public var lastSent: Date?
    /// Whether the session already has one.
    public var sessionAnswered: Bool

    public init(sentLastHour: Int = 0, lastSent: Date? = nil, sessionAnswered: Bool = false) {
        self.sentLastHour = sentLastHour
        self.lastSent = lastSent
        self.sessionAnswered = sessionAnswered
    }
}

/// Why a message gets no auto-reply.
public enum AutoReplySkip: Sendable, Equatable, CustomStringConvertible {
    case kindDisabled(AutoReplyKind)
    case labelled(String)
    case automatic(AutoReplyMarker)
    case mailingList(String)
    case nullSender
    case ownAddress(String)
    case notFirstOfSession
    case sessionAnswered
    case withinPeriod(hours: Int)
    case hourlyCapReached(Int)

    public var description: String {
        switch self {
        case .kindDisabled(let kind): "the \(kind.name) auto-reply is off"
        case .labelled(let label): "the message is labelled \(label)"
        case .automatic(let marker): "the message is automatic (\(marker))"
        case .mailingList(let field): "the message came through a mailing list (\(field))"
        case .nullSender: "null reverse-path <>"
        case .ownAddress(let address): "\(address) is an address of this gateway"
        case .notFirstOfSession: "not the first message of its session"
        case .sessionAnswered: "the session already has an auto-reply"
        case .withinPeriod(let hours): "an auto-reply went to the sender within the last \(hours) hours"
        case .hourlyCapReached(let cap): "\(cap) auto-replies went to the sender in the last hour"
        }
    }
}

/// Whether a received message gets an auto-reply (RFC 3834), in two steps: `screen` on the
/// message alone, then `admit` on the history, inside the transaction that queues the reply
/// so that two messages arriving at once cannot both pass a limit.
public enum AutoReplyDecision {
    /// Fields a mailing list adds to each copy (RFC 2369, RFC 2919).
    public static let listFieldNames = ["List-Id", "List-Post", "List-Unsubscribe", "List-Help", "List-Owner"]

    /// The kind and the recipient of the auto-reply `facts` calls for, or why there is none.
    /// - Parameter isOwnAddress: true for an address of a domain this gateway hosts (or the
    ///   contact centre's own address).
    public static func screen<Failure: Error>(
        _ facts: AutoReplyFacts, rules: AutoReplyRules, isOwnAddress: (EmailAddress) throws(Failure) -> Bool
    ) throws(Failure) -> AutoReplyScreening {
        func skip(_ reason: AutoReplySkip) -> AutoReplyScreening { .skip(reason) }
        let kind: AutoReplyKind = facts.inWorkingHours ? .inHours : .outOfHours
        guard rules.enabled.contains(kind) else { return skip(.kindDisabled(kind)) }
        // Whatever the policy labelled (auto-reply, blocked, quarantined, own reply,
        // forwarding confirmation) is never answered.
        if let label = facts.policyLabel { return skip(.labelled(label)) }
        // RFC 3834 §2: never to a null Return-Path (also RFC 5321 §4.5.5), nor to a message
        // that is itself automatic (Auto-Submitted other than "no", §5), bulk or list mail
        // (Precedence, §3.1.8), a report, or a system sender; checked here whether or not the
        // address excludes auto-replies from its queues.
        if let marker = AutoReplyDetector.marker(header: facts.header, envelopeSender: facts.envelopeSender) {
            return skip(marker == .nullSender ? .nullSender : .automatic(marker))
        }
        // RFC 3834 §2: a responder should not answer mail from a list (RFC 2369, RFC 2919).
        if let field = listFieldNames.first(where: { facts.header[$0] != nil }) { return skip(.mailingList(field)) }
        // RFC 3834 §4: the response goes to the Return-Path (the envelope sender).
        guard let recipient = HeaderAddressList.addresses(in: facts.envelopeSender).first else { return skip(.nullSender) }
        if try isOwnAddress(recipient) { return skip(.ownAddress(recipient.canonical)) }
        if rules.periodHours == nil, !facts.opensSession { return skip(.notFirstOfSession) }
        return .reply(kind, to: recipient)
    }

    /// Whether the limits still allow one more auto-reply: nil if so, else why not.
    /// RFC 3834 §2: a responder must not answer the same sender over and over; the hourly
    /// cap stops a loop between two responders that do not mark their replies.
    public static func admit(_ history: AutoReplyHistory, rules: AutoReplyRules, now: Date) -> AutoReplySkip? {
        if history.sentLastHour >= rules.hourlyCap { return .hourlyCapReached(rules.hourlyCap) }
        if let hours = rules.periodHours {
            if let last = history.lastSent, now.timeIntervalSince(last) < Double(hours) * 3600 { return .withinPeriod(hours: hours) }
        } else if history.sessionAnswered {
            return .sessionAnswered
        }
        return nil
    }
}

/// The first step's answer: the kind and the recipient of the auto-reply, or why none.
public enum AutoReplyScreening: Sendable, Equatable {
    case reply(AutoReplyKind, to: EmailAddress)
    case skip(AutoReplySkip)
}
