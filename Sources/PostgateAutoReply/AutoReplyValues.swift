import Foundation
import PostgateMessage
import PostgatePolicy

/// The variables an auto-reply template may use. An empty value is left out, so
/// `{{#customer_name}}…{{/customer_name}}` shows only when there is a name and
/// `{{^next_opening}}…{{/next_opening}}` only when the calendar never opens.
public struct AutoReplyValues: Sendable, Equatable {
    /// The customer's display name from From (RFC 2047 decoded); empty without one.
    public var customerName = ""
    /// The subject of the customer's message.
    public var subject = ""
    /// The session's number, as agents and `postgate session show` know it.
    public var sessionReference = ""
    /// The next opening of the address's calendar, in its time zone: "Monday 28 December
    /// 2026, 09:00"; with its parts `next_opening_date` (2026-12-28) and `next_opening_time`
    /// (09:00), and the calendar's `time_zone`.
    public var nextOpening = ""
    public var nextOpeningDate = ""
    public var nextOpeningTime = ""
    public var timeZone = ""
    /// The queue the message was routed to.
    public var queue = ""

    public init() {}

    /// Every variable name, as written in a template.
    public static let names: Set<String> = [
        "customer_name", "subject", "session_reference", "next_opening", "next_opening_date", "next_opening_time",
        "time_zone", "queue",
    ]

    /// The values by name, the empty ones left out.
    public var dictionary: [String: String] {
        let all = [
            "customer_name": customerName, "subject": subject, "session_reference": sessionReference,
            "next_opening": nextOpening, "next_opening_date": nextOpeningDate, "next_opening_time": nextOpeningTime,
            "time_zone": timeZone, "queue": queue,
        ]
        return all.filter { !$0.value.isEmpty }
    }

    /// Sets the opening variables: when `calendar` next opens after `date` (nil: it is open,
    /// or never opens; nothing is set then).
    public mutating func setNextOpening(of calendar: WorkingCalendar, after date: Date) {
        timeZone = calendar.timeZone
        guard !calendar.isOpen(at: date), let opening = calendar.nextChange(after: date) else { return }
        let zone = TimeZone(identifier: calendar.timeZone) ?? TimeZone(identifier: "UTC")!
        func format(_ pattern: String) -> String {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_GB")
            formatter.calendar = Calendar(identifier: .gregorian)
            formatter.timeZone = zone
            formatter.dateFormat = pattern
            return formatter.string(from: opening)
        }
        nextOpening = format("EEEE d MMMM yyyy, HH:mm")
        nextOpeningDate = format("yyyy-MM-dd")
        nextOpeningTime = format("HH:mm")
    }

    /// The display name of the first mailbox of a From field: the phrase before `<`,
    /// unquoted and decoded (RFC 5322 section 3.4, RFC 2047); empty for a bare address.
    public static func displayName(from field: String?) -> String {
        guard let field, let open = field.firstIndex(of: "<") else { return "" }
        var phrase = EncodedWordDecoder.decode(String(field[..<open])).trimmingCharacters(in: .whitespaces)
        if phrase.count >= 2, phrase.first == "\"", phrase.last == "\"" {
            phrase = String(phrase.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"")
                .replacingOccurrences(of: "\\\\", with: "\\")
        }
        return String(phrase.filter { !$0.isNewline }.prefix(200))
    }

    /// The values of a preview: a sample customer and session.
    public static func sample(calendar: WorkingCalendar?, at date: Date, queue: String?) -> AutoReplyValues {
        var values = AutoReplyValues()
        values.customerName = "Alex Example"
        values.subject = "My order has not arrived"
        values.sessionReference = "1234"
        values.queue = queue ?? ""
        if let calendar { values.setNextOpening(of: calendar, after: date) }
        return values
    }
}

/// The variables of an agent's signature (`postgate agent set --signature-text|--signature-html`),
/// rendered into each reply the agent writes, after the address's footer.
public struct SignatureValues: Sendable, Equatable {
    public static let names: Set<String> = ["agent_name", "agent_email", "address", "address_name"]

    /// The agent's display name, else its login name.
    public var agentName: String
    /// The agent's own email address, empty when it has none.
    public var agentEmail: String
    /// The channel address the reply is sent for, and its display name.
    public var address: String
    public var addressName: String

    public init(agentName: String, agentEmail: String, address: String, addressName: String) {
        self.agentName = agentName
        self.agentEmail = agentEmail
        self.address = address
        self.addressName = addressName
    }

    public var dictionary: [String: String] {
        ["agent_name": agentName, "agent_email": agentEmail, "address": address, "address_name": addressName]
    }
}
