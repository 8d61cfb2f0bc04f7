import Foundation
import PostgateMessage
import PostgateMaildir

extension ChannelSettings {
    /// The largest template part or contact card accepted, in bytes.
    public static let maxTemplateSize = 64 * 1024

    /// Checks what needs no store: syntax, the enable rule (a default queue), the recipient caps, and
    /// that nothing can inject a header field. Returns the settings in canonical form
    /// (domains as lower-case A-labels, addresses canonical).
    /// - Parameter owner: the address these settings belong to.
    public func validated(for owner: EmailAddress) throws(StoreError) -> ChannelSettings {
        var settings = self
        if let name = displayName {
            guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }), name.count <= 200 else {
                throw .invalidSetting("display name must be one line of at most 200 characters")
            }
            settings.displayName = name.isEmpty ? nil : name
        }
        if let name = channelName {
            if name.isEmpty {
                settings.channelName = nil
            } else {
                try Self.checkChannelName(name)
            }
        }
        settings.autoReplyKeywords = try Self.keywords(autoReplyKeywords)
        settings.autoReplySenders = try Self.senders(autoReplySenders)
        if enabled && defaultQueue == nil {
            throw .invalidSetting("\(owner) cannot be enabled without a default queue: set one with --queue first, so that every accepted message reaches a queue")
        }
        settings.contactCentreAddress = try contactCentreAddress.map { text throws(StoreError) in
            let address = try Self.parseAddress(text, setting: "contact centre address")
            guard address.canonicalAddress != owner.canonicalAddress else {
                throw .invalidSetting("the contact centre address must not be \(owner) itself (replies would loop)")
            }
            return address.canonicalAddress.description
        }
        settings.allowedSenderDomains = try Self.canonicalDomains(allowedSenderDomains)
        try checkRecipientCaps()
        if let days = retentionDays, !(1...Self.maxRetentionDays).contains(days) {
            throw .invalidSetting("retention must be from 1 to \(Self.maxRetentionDays) days, not \(days) (none keeps messages for ever)")
        }
        try checkTexts()
        try checkAutoReplies()
        try checkOwnershipRules()
        settings.closingText = closingText.flatMap { $0.isEmpty ? nil : $0 }
        settings.closingHTML = closingHTML.flatMap { $0.isEmpty ? nil : $0 }
        if settings.closingHTML != nil, settings.closingText == nil {
            throw .invalidSetting("the closing message needs a text template: give it with --closing-text FILE")
        }
        settings.transferQueue = transferQueue.flatMap { $0.isEmpty ? nil : $0 }
        settings.autoReplyInText = autoReplyInText.flatMap { $0.isEmpty ? nil : $0 }
        settings.autoReplyInHTML = autoReplyInHTML.flatMap { $0.isEmpty ? nil : $0 }
        settings.autoReplyOutText = autoReplyOutText.flatMap { $0.isEmpty ? nil : $0 }
        settings.autoReplyOutHTML = autoReplyOutHTML.flatMap { $0.isEmpty ? nil : $0 }
        return settings
    }

    /// The longest channel name.
    public static let maxChannelNameLength = 64
    /// The most auto-reply keywords or senders of one address.
    public static let maxAutoReplyRules = 100

    /// A letter or underscore, then letters, digits and underscores (ASCII), at most 64.
    static func checkChannelName(_ name: String, what: String = "channel name") throws(StoreError) {
        let scalars = Array(name.unicodeScalars)
        func isLetter(_ s: Unicode.Scalar) -> Bool { ("a"..."z").contains(s) || ("A"..."Z").contains(s) }
        guard scalars.count <= maxChannelNameLength else {
            throw .invalidSetting("\(what) '\(name)' has \(scalars.count) characters; at most \(maxChannelNameLength) are allowed")
        }
        guard let first = scalars.first, isLetter(first) || first == "_" else {
            throw .invalidSetting("\(what) '\(name)' must start with a letter or an underscore")
        }
        guard scalars.allSatisfy({ isLetter($0) || ("0"..."9").contains($0) || $0 == "_" }) else {
            throw .invalidSetting("\(what) '\(name)' may hold only letters, digits and underscores")
        }
    }

    /// Words or phrases: one line each, at most 200 characters, no duplicates (any case).
    static func keywords(_ list: [String]) throws(StoreError) -> [String] {
        var result: [String] = []
        for text in list {
            let keyword = text.trimmingCharacters(in: .whitespaces)
            guard !keyword.isEmpty else { continue }
            guard keyword.count <= 200, !keyword.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw .invalidSetting("auto-reply keyword '\(keyword.prefix(40))' must be one line of at most 200 characters")
            }
            if !result.contains(where: { $0.lowercased() == keyword.lowercased() }) { result.append(keyword) }
        }
        guard result.count <= maxAutoReplyRules else {
            throw .invalidSetting("\(result.count) auto-reply keywords; at most \(maxAutoReplyRules) are allowed")
        }
        return result
    }

    /// Addresses (canonical) or domains (lower-case A-labels).
    static func senders(_ list: [String]) throws(StoreError) -> [String] {
        var result: [String] = []
        for text in list where !text.isEmpty {
            let value: String
            if text.contains("@") {
                value = try parseAddress(text, setting: "auto-reply sender").canonicalAddress.description
            } else {
                guard let domain = try? DomainName(text) else {
                    throw .invalidSetting("auto-reply sender '\(text)' is neither an address nor a domain")
                }
                value = domain.ascii
            }
            if !result.contains(value) { result.append(value) }
        }
        guard result.count <= maxAutoReplyRules else {
            throw .invalidSetting("\(result.count) auto-reply senders; at most \(maxAutoReplyRules) are allowed")
        }
        return result
    }

    private func checkRecipientCaps() throws(StoreError) {
        let caps = [("max To", maxTo), ("max Cc", maxCc), ("max Bcc", maxBcc)]
        for (name, value) in caps {
            if let value, !(0...Self.maxRecipientSum).contains(value) {
                throw .invalidSetting("\(name) must be from 0 to \(Self.maxRecipientSum), not \(value)")
            }
        }
        let sum = caps.compactMap(\.1).reduce(0, +)
        guard sum <= Self.maxRecipientSum else {
            throw .invalidSetting("max To + max Cc + max Bcc is \(sum); their sum may be at most \(Self.maxRecipientSum)")
        }
    }

    private func checkTexts() throws(StoreError) {
        let texts = [("contact card", contactCard), ("template header text", templateHeaderText),
                     ("template header HTML", templateHeaderHTML), ("template footer text", templateFooterText),
                     ("template footer HTML", templateFooterHTML)]
        for case let (name, text?) in texts where text.utf8.count > Self.maxTemplateSize {
            throw .invalidSetting("\(name) is \(text.utf8.count) bytes; at most \(Self.maxTemplateSize) are allowed")
        }
        if sendContactCard {
            guard let card = contactCard else {
                throw .invalidSetting("sending the contact card needs one: give it with --contact-card FILE.vcf")
            }
            let trimmed = card.trimmingCharacters(in: .whitespacesAndNewlines).uppercased()
            guard trimmed.hasPrefix("BEGIN:VCARD"), trimmed.hasSuffix("END:VCARD") else {
                throw .invalidSetting("the contact card is not a vCard (it must start with BEGIN:VCARD and end with END:VCARD)")
            }
        }
    }

    private static func parseAddress(_ text: String, setting: String) throws(StoreError) -> EmailAddress {
        do { return try EmailAddress(text) } catch {
            throw .invalidSetting("\(setting) '\(text)' is not a valid address: \(error.description)")
        }
    }

    private static func canonicalDomains(_ names: [String]) throws(StoreError) -> [String] {
        var seen: Set<String> = []
        var result: [String] = []
        for name in names {
            let domain: DomainName
            do { domain = try DomainName(name) } catch {
                throw .invalidSetting("allowed domain '\(name)' is not a valid domain name: \(error.description)")
            }
            if seen.insert(domain.ascii).inserted { result.append(domain.ascii) }
        }
        return result
    }
}

extension ChannelSettings {
    /// One field that differs between the published settings and a draft.
    public struct Change: Sendable, Codable, Equatable {
        public var field: String
        /// JSON text of the value before and after (`null` when absent).
        public var published: String
        public var draft: String
    }

    /// The fields whose values differ from `published`, in declaration order.
    public func changes(from published: ChannelSettings) -> [Change] {
        let before = published.jsonFields
        let after = jsonFields
        return CodingKeys.allCases.compactMap { key in
            let old = before[key.stringValue] ?? "null"
            let new = after[key.stringValue] ?? "null"
            return old == new ? nil : Change(field: key.stringValue, published: old, draft: new)
        }
    }

    /// Each top-level key with its value as compact JSON text.
    private var jsonFields: [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self),
              let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) as? [String: Any]
        else { return [:] }
        var fields: [String: String] = [:]
        for (key, value) in object {
            let valueData = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes])
            fields[key] = valueData.flatMap { String(data: $0, encoding: .utf8) } ?? "null"
        }
        return fields
    }
}
