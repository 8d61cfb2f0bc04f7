import Foundation
import PostgateSessions

/// Everything an administrator configures on a channel address:
/// what `postgate address set` edits as a draft and `postgate publish` makes live.
///
/// The JSON form (drafts, `postgate export`, `address show --json` under `settings`) uses
/// these property names; absent optional values are written as `null`.
public struct ChannelSettings: Sendable, Codable, Equatable {
    /// The phrase shown with the address on replies.
    public var displayName: String?
    /// The channel's name, unique among addresses (case-insensitive): a letter or underscore,
    /// then letters, digits and underscores, at most 64 in all.
    public var channelName: String?
    /// Inbound, outbound or both: whether the address receives mail, sends replies, or both.
    public var usage: AddressUsage = .both
    /// A disabled address refuses mail (550 5.2.1). Enabling needs a default queue, so that
    /// every accepted message reaches a queue.
    public var enabled = true
    /// Attach the contact card (a vCard, .vcf) to the first reply of a session.
    public var sendContactCard = false
    /// The vCard (RFC 6350) text attached when `sendContactCard` is on.
    public var contactCard: String?
    /// The reply template: header and footer, as text and as HTML.
    public var templateHeaderText: String?
    public var templateHeaderHTML: String?
    public var templateFooterText: String?
    public var templateFooterHTML: String?
    /// The queue mail goes to when no filter matches.
    public var defaultQueue: String?
    /// The contact centre's own address: Reply-To and Bcc of every reply.
    public var contactCentreAddress: String?
    /// Other addresses delivering to this one ("alias to email"), canonical form.
    public var aliases: [String] = []
    /// How inbound mail is grouped into sessions.
    public var sessionMode: SessionMode = .channel
    /// When not empty, only senders in these domains (or their subdomains) reach the queue;
    /// others are quarantined.
    public var allowedSenderDomains: [String] = []
    /// Keep auto-replies out of the queues (flagged, never answered).
    public var excludeAutoReplies = true
    /// With `excludeAutoReplies`: also treat as auto-replies messages whose subject or text
    /// contains one of these words or phrases (case-insensitive).
    public var autoReplyKeywords: [String] = []
    /// With `excludeAutoReplies`: also treat as auto-replies messages from these senders,
    /// each an address or a domain (and its subdomains).
    public var autoReplySenders: [String] = []
    /// Apply the address's blocklist; off keeps the entries but lets every sender through.
    public var blocklistEnabled = true
    /// Sync when recipient only: the address must appear in To or Cc, else quarantine.
    public var syncWhenRecipientOnly = false
    /// Personal replies: an agent with an own email address (`postgate agent set --email`)
    /// replies from it, with the channel's Reply-To.
    public var personalReplies = false
    /// The recipients an agent's reply may
    /// have; nil means the gateway's default. Their sum is at most 100.
    public var maxTo: Int?
    public var maxCc: Int?
    public var maxBcc: Int?
    /// Days a message and a closed session are kept; nil keeps them for ever. Older ones
    /// are deleted by the daily retention pass of `postgate serve` (or `postgate retention run`).
    public var retentionDays: Int?
    /// The working calendar of the address; nil: the calendar named `default`, if any
    /// (without one, the address is always in working hours).
    public var calendar: String?
    /// The auto-reply sent in working hours (an acknowledgement) and the one sent outside
    /// them (with the next opening): each switched on or off, with a text and an optional
    /// HTML Mustache template (`AutoReplyTemplate`); the reply template's header and footer
    /// go around them as around every reply.
    public var autoReplyInEnabled = false
    public var autoReplyInText: String?
    public var autoReplyInHTML: String?
    public var autoReplyOutEnabled = false
    public var autoReplyOutText: String?
    public var autoReplyOutHTML: String?
    /// nil: an auto-reply answers the first message of a session; else at most one per
    /// customer in this many hours, whichever message it is.
    public var autoReplyPeriodHours: Int?
    /// The most auto-replies to one sender in an hour; nil: the gateway's default
    /// (`auto_replies.max_per_sender_per_hour`).
    public var autoReplyHourlyCap: Int?
    /// Last-agent mode: a customer's new session goes to the agent who owned their last
    /// session of this address, if it was active within this many days and the agent still
    /// has access; nil: off (new sessions go to the queue only).
    public var lastAgentDays: Int?
    /// Transfer on no agent reply: a customer's message unanswered by an agent for this many
    /// seconds of working time (the address's calendar) moves its session to
    /// `transferQueue`; nil: off.
    public var transferAfterSeconds: Int?
    /// Where a session without an agent's reply goes; nil: the address's default queue.
    public var transferQueue: String?
    /// The closing message sent to the customer when a session ends without their reply
    /// (`sessions.idle_timeout`): a text and an optional HTML Mustache template over the
    /// auto-reply variables; nil: none is sent.
    public var closingText: String?
    public var closingHTML: String?

    public init() {}

    /// The longest retention that may be set: 100 years.
    public static let maxRetentionDays = 36_500

    /// The cap on the sum of `maxTo`, `maxCc` and `maxBcc`: RFC 5321 section 4.5.3.1.8 has
    /// every server accept 100 recipients in one transaction.
    public static let maxRecipientSum = 100

    package enum CodingKeys: String, CodingKey, CaseIterable {
        case displayName, channelName, usage, enabled, sendContactCard, contactCard
        case templateHeaderText, templateHeaderHTML, templateFooterText, templateFooterHTML
        case defaultQueue, contactCentreAddress, aliases, sessionMode, allowedSenderDomains
        case excludeAutoReplies, autoReplyKeywords, autoReplySenders, blocklistEnabled
        case syncWhenRecipientOnly, maxTo, maxCc, maxBcc, retentionDays, calendar
        case autoReplyInEnabled, autoReplyInText, autoReplyInHTML, autoReplyOutEnabled, autoReplyOutText, autoReplyOutHTML
        case autoReplyPeriodHours, autoReplyHourlyCap, personalReplies
        case lastAgentDays, transferAfterSeconds, transferQueue, closingText, closingHTML
    }

    /// Reads every key that is present; absent keys keep their defaults, so an export
    /// written by an older version still imports.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        displayName = try c.decodeIfPresent(String.self, forKey: .displayName)
        channelName = try c.decodeIfPresent(String.self, forKey: .channelName)
        usage = try c.decodeIfPresent(AddressUsage.self, forKey: .usage) ?? .both
        enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? true
        sendContactCard = try c.decodeIfPresent(Bool.self, forKey: .sendContactCard) ?? false
        contactCard = try c.decodeIfPresent(String.self, forKey: .contactCard)
        templateHeaderText = try c.decodeIfPresent(String.self, forKey: .templateHeaderText)
        templateHeaderHTML = try c.decodeIfPresent(String.self, forKey: .templateHeaderHTML)
        templateFooterText = try c.decodeIfPresent(String.self, forKey: .templateFooterText)
        templateFooterHTML = try c.decodeIfPresent(String.self, forKey: .templateFooterHTML)
        defaultQueue = try c.decodeIfPresent(String.self, forKey: .defaultQueue)
        contactCentreAddress = try c.decodeIfPresent(String.self, forKey: .contactCentreAddress)
        aliases = try c.decodeIfPresent([String].self, forKey: .aliases) ?? []
        sessionMode = try c.decodeIfPresent(SessionMode.self, forKey: .sessionMode) ?? .channel
        allowedSenderDomains = try c.decodeIfPresent([String].self, forKey: .allowedSenderDomains) ?? []
        excludeAutoReplies = try c.decodeIfPresent(Bool.self, forKey: .excludeAutoReplies) ?? true
        autoReplyKeywords = try c.decodeIfPresent([String].self, forKey: .autoReplyKeywords) ?? []
        autoReplySenders = try c.decodeIfPresent([String].self, forKey: .autoReplySenders) ?? []
        blocklistEnabled = try c.decodeIfPresent(Bool.self, forKey: .blocklistEnabled) ?? true
        syncWhenRecipientOnly = try c.decodeIfPresent(Bool.self, forKey: .syncWhenRecipientOnly) ?? false
        personalReplies = try c.decodeIfPresent(Bool.self, forKey: .personalReplies) ?? false
        maxTo = try c.decodeIfPresent(Int.self, forKey: .maxTo)
        maxCc = try c.decodeIfPresent(Int.self, forKey: .maxCc)
        maxBcc = try c.decodeIfPresent(Int.self, forKey: .maxBcc)
        retentionDays = try c.decodeIfPresent(Int.self, forKey: .retentionDays)
        calendar = try c.decodeIfPresent(String.self, forKey: .calendar)
        autoReplyInEnabled = try c.decodeIfPresent(Bool.self, forKey: .autoReplyInEnabled) ?? false
        autoReplyInText = try c.decodeIfPresent(String.self, forKey: .autoReplyInText)
        autoReplyInHTML = try c.decodeIfPresent(String.self, forKey: .autoReplyInHTML)
        autoReplyOutEnabled = try c.decodeIfPresent(Bool.self, forKey: .autoReplyOutEnabled) ?? false
        autoReplyOutText = try c.decodeIfPresent(String.self, forKey: .autoReplyOutText)
        autoReplyOutHTML = try c.decodeIfPresent(String.self, forKey: .autoReplyOutHTML)
        autoReplyPeriodHours = try c.decodeIfPresent(Int.self, forKey: .autoReplyPeriodHours)
        autoReplyHourlyCap = try c.decodeIfPresent(Int.self, forKey: .autoReplyHourlyCap)
        lastAgentDays = try c.decodeIfPresent(Int.self, forKey: .lastAgentDays)
        transferAfterSeconds = try c.decodeIfPresent(Int.self, forKey: .transferAfterSeconds)
        transferQueue = try c.decodeIfPresent(String.self, forKey: .transferQueue)
        closingText = try c.decodeIfPresent(String.self, forKey: .closingText)
        closingHTML = try c.decodeIfPresent(String.self, forKey: .closingHTML)
    }

    /// Writes every key, `null` for absent values, so scripts see a stable set of keys.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(displayName, forKey: .displayName)
        try c.encode(channelName, forKey: .channelName)
        try c.encode(usage, forKey: .usage)
        try c.encode(enabled, forKey: .enabled)
        try c.encode(sendContactCard, forKey: .sendContactCard)
        try c.encode(contactCard, forKey: .contactCard)
        try c.encode(templateHeaderText, forKey: .templateHeaderText)
        try c.encode(templateHeaderHTML, forKey: .templateHeaderHTML)
        try c.encode(templateFooterText, forKey: .templateFooterText)
        try c.encode(templateFooterHTML, forKey: .templateFooterHTML)
        try c.encode(defaultQueue, forKey: .defaultQueue)
        try c.encode(contactCentreAddress, forKey: .contactCentreAddress)
        try c.encode(aliases, forKey: .aliases)
        try c.encode(sessionMode, forKey: .sessionMode)
        try c.encode(allowedSenderDomains, forKey: .allowedSenderDomains)
        try c.encode(excludeAutoReplies, forKey: .excludeAutoReplies)
        try c.encode(autoReplyKeywords, forKey: .autoReplyKeywords)
        try c.encode(autoReplySenders, forKey: .autoReplySenders)
        try c.encode(blocklistEnabled, forKey: .blocklistEnabled)
        try c.encode(syncWhenRecipientOnly, forKey: .syncWhenRecipientOnly)
        try c.encode(maxTo, forKey: .maxTo)
        try c.encode(maxCc, forKey: .maxCc)
        try c.encode(maxBcc, forKey: .maxBcc)
        try c.encode(retentionDays, forKey: .retentionDays)
        try c.encode(calendar, forKey: .calendar)
        try c.encode(autoReplyInEnabled, forKey: .autoReplyInEnabled)
        try c.encode(autoReplyInText, forKey: .autoReplyInText)
        try c.encode(autoReplyInHTML, forKey: .autoReplyInHTML)
        try c.encode(autoReplyOutEnabled, forKey: .autoReplyOutEnabled)
        try c.encode(autoReplyOutText, forKey: .autoReplyOutText)
        try c.encode(autoReplyOutHTML, forKey: .autoReplyOutHTML)
        try c.encode(autoReplyPeriodHours, forKey: .autoReplyPeriodHours)
        try c.encode(autoReplyHourlyCap, forKey: .autoReplyHourlyCap)
        try c.encode(personalReplies, forKey: .personalReplies)
        try c.encode(lastAgentDays, forKey: .lastAgentDays)
        try c.encode(transferAfterSeconds, forKey: .transferAfterSeconds)
        try c.encode(transferQueue, forKey: .transferQueue)
        try c.encode(closingText, forKey: .closingText)
        try c.encode(closingHTML, forKey: .closingHTML)
    }
}

/// Which direction an address serves.
public enum AddressUsage: String, Sendable, Codable, CaseIterable {
    case inbound
    case outbound
    case both

    /// Whether mail to the address is accepted.
    public var receives: Bool { self != .outbound }
    /// Whether agents may send replies as the address.
    public var sends: Bool { self != .inbound }
}

