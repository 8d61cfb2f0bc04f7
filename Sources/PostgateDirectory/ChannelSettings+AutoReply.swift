import PostgateAutoReply
import PostgateMaildir

extension ChannelSettings {
    /// The longest period between two auto-replies to one customer: a year.
    public static let maxAutoReplyPeriodHours = 8760
    /// The highest hourly cap of auto-replies to one sender.
    public static let maxAutoReplyHourlyCap = 100

    /// The template of `kind` in `format`, nil when none is set.
    public func autoReplyTemplateSource(_ kind: AutoReplyKind, _ format: AutoReplyTemplate.Format) -> String? {
        switch (kind, format) {
        case (.inHours, .text): autoReplyInText
        case (.inHours, .html): autoReplyInHTML
        case (.outOfHours, .text): autoReplyOutText
        case (.outOfHours, .html): autoReplyOutHTML
        }
    }

    /// Whether the auto-reply of `kind` is switched on.
    public func autoReplyEnabled(_ kind: AutoReplyKind) -> Bool {
        kind == .inHours ? autoReplyInEnabled : autoReplyOutEnabled
    }

    /// The rules of the decision, with `defaultHourlyCap` when the address sets none.
    public func autoReplyRules(defaultHourlyCap: Int) -> AutoReplyRules {
        AutoReplyRules(enabled: Set(AutoReplyKind.allCases.filter(autoReplyEnabled)), periodHours: autoReplyPeriodHours,
                       hourlyCap: autoReplyHourlyCap ?? defaultHourlyCap)
    }

    /// The parsed template of `kind` in `format`; nil when none is set. The settings were
    /// checked when saved, so a template that fails here is reported as a setting error.
    public func autoReplyTemplate(_ kind: AutoReplyKind, _ format: AutoReplyTemplate.Format) throws(StoreError) -> AutoReplyTemplate? {
        guard let source = autoReplyTemplateSource(kind, format), !source.isEmpty else { return nil }
        do { return try AutoReplyTemplate(source, format: format) } catch {
            throw .invalidSetting("the \(Self.name(kind, format)) auto-reply template: \(error)")
        }
    }

    /// Every template parses and uses only known variables; an enabled kind has a text
    /// template; the period and the cap are in range.
    func checkAutoReplies() throws(StoreError) {
        for kind in AutoReplyKind.allCases {
            for format in [AutoReplyTemplate.Format.text, .html] {
                if let text = autoReplyTemplateSource(kind, format), text.utf8.count > Self.maxTemplateSize {
                    throw .invalidSetting("the \(Self.name(kind, format)) auto-reply template is \(text.utf8.count) bytes; at most \(Self.maxTemplateSize) are allowed")
                }
                _ = try autoReplyTemplate(kind, format)
            }
            if autoReplyEnabled(kind), try autoReplyTemplate(kind, .text) == nil {
                throw .invalidSetting("the \(kind.name) auto-reply needs a text template: give it with --autoreply-\(kind.rawValue)-text FILE")
            }
        }
        if let hours = autoReplyPeriodHours, !(1...Self.maxAutoReplyPeriodHours).contains(hours) {
            throw .invalidSetting("the auto-reply period must be from 1 to \(Self.maxAutoReplyPeriodHours) hours, not \(hours) (or session: once per session)")
        }
        if let cap = autoReplyHourlyCap, !(0...Self.maxAutoReplyHourlyCap).contains(cap) {
            throw .invalidSetting("the auto-reply hourly cap must be from 0 to \(Self.maxAutoReplyHourlyCap), not \(cap)")
        }
    }

    /// The longest last-agent period: ten years.
    public static let maxLastAgentDays = 3650
    /// The longest wait for an agent's reply before a transfer: thirty days of working time.
    public static let maxTransferAfterSeconds = 30 * 86400

    /// The parsed closing message template in `format`; nil when none is set.
    public func closingTemplate(_ format: AutoReplyTemplate.Format) throws(StoreError) -> AutoReplyTemplate? {
        guard let source = format == .text ? closingText : closingHTML, !source.isEmpty else { return nil }
        do { return try AutoReplyTemplate(source, format: format) } catch {
            throw .invalidSetting("the closing message \(format.rawValue) template: \(error)")
        }
    }

    /// The last-agent period and the transfer wait are in range; the closing templates parse.
    func checkOwnershipRules() throws(StoreError) {
        if let days = lastAgentDays, !(1...Self.maxLastAgentDays).contains(days) {
            throw .invalidSetting("the last-agent period must be from 1 to \(Self.maxLastAgentDays) days, not \(days) (off turns last-agent mode off)")
        }
        if let seconds = transferAfterSeconds, !(1...Self.maxTransferAfterSeconds).contains(seconds) {
            throw .invalidSetting("the wait before a transfer must be from 1 second to 30 days, not \(seconds) seconds (off turns it off)")
        }
        for format in [AutoReplyTemplate.Format.text, .html] {
            if let text = format == .text ? closingText : closingHTML, text.utf8.count > Self.maxTemplateSize {
                throw .invalidSetting("the closing message \(format.rawValue) template is \(text.utf8.count) bytes; at most \(Self.maxTemplateSize) are allowed")
            }
            _ = try closingTemplate(format)
        }
    }

    private static func name(_ kind: AutoReplyKind, _ format: AutoReplyTemplate.Format) -> String {
        "\(kind.name) \(format.rawValue)"
    }
}
