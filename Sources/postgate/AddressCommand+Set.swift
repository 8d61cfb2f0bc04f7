import ArgumentParser
import Foundation
import PostgateMessage
import PostgateSessions
import PostgateStore
import PostgateMaildir
import PostgateDirectory

extension AddressCommand {
    /// `postgate address set EMAIL [--field value …]`: edits the draft of an address.
    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Edit an address's settings (a draft until `postgate publish`).",
            discussion: """
            Every option changes one setting of the draft; settings not named keep their \
            draft (or published) value. The draft is checked as a whole, so a change that breaks \
            a rule (an enabled address needs a default queue; max To + Cc + Bcc ≤ 100; the \
            contact card must be a vCard) is refused and changes nothing. A text given as "" \
            clears it. `postgate address diff EMAIL` shows what is pending; --publish makes it \
            live at once. Auto-reply templates are Mustache (variables: `postgate address \
            autoreply --help`); one with a syntax error or an unknown variable is refused.
            """
        )

        @Argument(help: "the address (not an alias)")
        var email: String

        @Option(help: ArgumentHelp("display name on replies; \"\" clears", valueName: "NAME"))
        var name: String?
        @Option(name: .customLong("channel-name"), help: ArgumentHelp("the channel's unique name: a letter or _, then letters, digits, _ (at most 64); \"\" clears", valueName: "NAME"))
        var channelName: String?
        @Option(help: ArgumentHelp("the working calendar (`postgate calendar`); \"\" for the one named default", valueName: "NAME"))
        var calendar: String?
        @Option(name: .customLong("blocklist"), help: ArgumentHelp("apply the address's blocklist (off keeps its entries)", valueName: "true|false"))
        var blocklist: Bool?
        @Option(name: .customLong("personal-replies"), help: ArgumentHelp("agents with an own email address (postgate agent set --email) reply from it, with the channel's Reply-To", valueName: "true|false"))
        var personalReplies: Bool?
        @Option(name: .customLong("auto-reply-keyword"), help: ArgumentHelp("with --exclude-auto-replies: a word or phrase that marks an auto-reply in the subject or the text (repeatable; replaces the list); \"\" empties it", valueName: "TEXT"))
        var autoReplyKeywords: [String] = []
        @Option(name: .customLong("auto-reply-sender"), help: ArgumentHelp("with --exclude-auto-replies: an address or domain whose mail is an auto-reply (repeatable; replaces the list); \"\" empties it", valueName: "SENDER"))
        var autoReplySenders: [String] = []
        @Option(help: ArgumentHelp("inbound, outbound or both", valueName: "USAGE"))
        var usage: AddressUsage?
        @Option(help: ArgumentHelp("default queue for mail no filter routes", valueName: "QUEUE"))
        var queue: String?
        @Option(name: .customLong("contact-centre"), help: ArgumentHelp("the contact centre's own address: Reply-To and Bcc of replies; \"\" clears", valueName: "EMAIL"))
        var contactCentre: String?
        @Option(name: .customLong("session-mode"), help: ArgumentHelp("channel (one session per customer and address) or thread (channel, then per thread)", valueName: "MODE"))
        var sessionMode: SessionMode?
        @Option(name: .customLong("allowed-domain"), help: ArgumentHelp("a sender domain (and its subdomains) to let through; mail from other domains is quarantined (repeatable; replaces the list); \"\" empties it", valueName: "DOMAIN"))
        var allowedDomains: [String] = []
        @Option(name: .customLong("retention-days"), help: ArgumentHelp("days messages and closed sessions are kept (1-36500); 0 keeps them for ever", valueName: "DAYS"))
        var retentionDays: Int?
        @Option(name: .customLong("exclude-auto-replies"), help: ArgumentHelp("keep auto-replies out of the queues", valueName: "true|false"))
        var excludeAutoReplies: Bool?
        @Option(name: .customLong("sync-recipient-only"), help: ArgumentHelp("quarantine mail not addressed to the address (or an alias) in To, Cc or Bcc", valueName: "true|false"))
        var syncRecipientOnly: Bool?
        @Option(name: .customLong("max-to"), help: ArgumentHelp("most To recipients on a reply, or none for the default", valueName: "N"))
        var maxTo: RecipientCap?
        @Option(name: .customLong("max-cc"), help: ArgumentHelp("most Cc recipients on a reply, or none", valueName: "N"))
        var maxCc: RecipientCap?
        @Option(name: .customLong("max-bcc"), help: ArgumentHelp("most Bcc recipients on a reply, or none", valueName: "N"))
        var maxBcc: RecipientCap?
        @Option(name: .customLong("send-contact-card"), help: ArgumentHelp("attach the contact card to the first reply of a session", valueName: "true|false"))
        var sendContactCard: Bool?
        @Option(name: .customLong("contact-card"), help: ArgumentHelp("vCard file to attach; \"\" clears", valueName: "FILE"))
        var contactCard: String?
        @Option(name: .customLong("header-text"), help: ArgumentHelp("template header, text part; \"\" clears", valueName: "FILE"))
        var headerText: String?
        @Option(name: .customLong("header-html"), help: ArgumentHelp("template header, HTML part; \"\" clears", valueName: "FILE"))
        var headerHTML: String?
        @Option(name: .customLong("footer-text"), help: ArgumentHelp("template footer, text part; \"\" clears", valueName: "FILE"))
        var footerText: String?
        @Option(name: .customLong("footer-html"), help: ArgumentHelp("template footer, HTML part; \"\" clears", valueName: "FILE"))
        var footerHTML: String?

        @OptionGroup var autoReply: AutoReplyOptions
        @OptionGroup var sessionRules: SessionRuleOptions
        @OptionGroup var publishing: PublishNow
        @OptionGroup var options: StoreOptions

        func run() throws {
            let files = try FileTexts(contactCard: contactCard, headerText: headerText, headerHTML: headerHTML,
                                      footerText: footerText, footerHTML: footerHTML)
            let autoReplyTexts = try autoReply.texts()
            let closingTexts = try sessionRules.texts(inline: autoReply.inline)
            try editAndReport(email, publishing: publishing, options: options) { settings in
                name.map { settings.displayName = $0.isEmpty ? nil : $0 }
                channelName.map { settings.channelName = $0.isEmpty ? nil : $0 }
                blocklist.map { settings.blocklistEnabled = $0 }
                personalReplies.map { settings.personalReplies = $0 }
                calendar.map { settings.calendar = $0.isEmpty ? nil : $0 }
                if !autoReplyKeywords.isEmpty { settings.autoReplyKeywords = autoReplyKeywords.filter { !$0.isEmpty } }
                if !autoReplySenders.isEmpty { settings.autoReplySenders = autoReplySenders.filter { !$0.isEmpty } }
                usage.map { settings.usage = $0 }
                queue.map { settings.defaultQueue = $0.isEmpty ? nil : $0 }
                contactCentre.map { settings.contactCentreAddress = $0.isEmpty ? nil : $0 }
                sessionMode.map { settings.sessionMode = $0 }
                if !allowedDomains.isEmpty { settings.allowedSenderDomains = allowedDomains.filter { !$0.isEmpty } }
                excludeAutoReplies.map { settings.excludeAutoReplies = $0 }
                syncRecipientOnly.map { settings.syncWhenRecipientOnly = $0 }
                maxTo.map { settings.maxTo = $0.value }
                maxCc.map { settings.maxCc = $0.value }
                maxBcc.map { settings.maxBcc = $0.value }
                retentionDays.map { settings.retentionDays = $0 == 0 ? nil : $0 }
                sendContactCard.map { settings.sendContactCard = $0 }
                files.apply(to: &settings)
                autoReply.apply(autoReplyTexts, to: &settings)
                sessionRules.apply(closingTexts, to: &settings)
            }
        }
    }

    /// `postgate address diff EMAIL`: what `publish` would change.
    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show an address's pending (unpublished) changes.",
            discussion: "With --json: an array of {field, published, draft}, values as JSON text. Exit status 0 either way."
        )

        @Argument(help: "the address (not an alias)")
        var email: String

        @OptionGroup var options: StoreOptions

        func run() throws {
            let address = parseAddress(email)
            let changes = try options.withStore { (store) throws(StoreError) in try store.pendingChanges(of: address) }
            try options.print(changes) {
                guard !changes.isEmpty else { return "\(address.canonicalText): nothing pending" }
                return TextTable(headers: ["FIELD", "PUBLISHED", "DRAFT"],
                                 rows: changes.map { [$0.field, Self.short($0.published), Self.short($0.draft)] }).render()
            }
        }

        private static func short(_ json: String) -> String {
            let line = json.replacingOccurrences(of: "\\n", with: "⏎")
            return line.count > 60 ? String(line.prefix(59)) + "…" : line
        }
    }

    /// `postgate address discard EMAIL`: drops the draft.
    struct Discard: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drop an address's pending draft; the published settings stay.")

        @Argument(help: "the address (not an alias)")
        var email: String

        @OptionGroup var options: StoreOptions

        func run() throws {
            let address = parseAddress(email)
            let store = try options.openStore()
            try reportingFailure { () throws(StoreError) in try store.discardDraft(of: address) }
            try options.print(Removed(removed: "draft of \(address.canonicalText)")) { "discarded the draft of \(address.canonicalText)" }
        }
    }
}

/// `--publish [--comment C]`: publish an edit at once.
struct PublishNow: ParsableArguments {
    @Flag(help: "publish the draft at once (otherwise it waits for `postgate publish`)")
    var publish = false

    @Option(help: ArgumentHelp("comment recorded with --publish", valueName: "TEXT"))
    var comment: String?
}

/// The draft and, with --publish, its publication: what an edit command prints.
struct EditResult: Encodable {
    var address: String
    var draft: ChannelSettings
    var pending: [ChannelSettings.Change]
    var published: Publication?
}

/// Edits the draft of `email`, publishes it when asked, and prints the outcome.
func editAndReport(
    _ email: String, publishing: PublishNow, options: StoreOptions,
    _ edit: (inout ChannelSettings) throws(StoreError) -> Void
) throws {
    let address = parseAddress(email)
    let store = try options.openStore()
    let result = try reportingFailure { () throws(StoreError) in
        let draft = try store.editDraft(of: address, edit)
        var pending = try store.pendingChanges(of: address)
        var publication: Publication?
        if publishing.publish, !pending.isEmpty {
            publication = try store.publish([address], comment: publishing.comment ?? "published with the edit")
            pending = []
        }
        return EditResult(address: address.canonicalText, draft: draft, pending: pending, published: publication)
    }
    try options.print(result) {
        if let publication = result.published {
            return "published \(result.address) (publication \(publication.id)): "
                + publication.addresses.flatMap { $0.changes.map(\.field) }.joined(separator: ", ")
        }
        if result.pending.isEmpty { return "\(result.address): nothing pending (the draft equals what is published)" }
        return "draft of \(result.address) saved; pending: \(result.pending.map(\.field).joined(separator: ", ")); "
            + "publish with `postgate publish \(result.address) --comment …`"
    }
}

/// A recipient cap given on the command line: a number from 0 to 100, or `none`.
struct RecipientCap: ExpressibleByArgument {
    var value: Int?

    init?(argument: String) {
        if argument.lowercased() == "none" { value = nil; return }
        guard let number = Int(argument), number >= 0 else { return nil }
        value = number
    }
}

extension AddressUsage: ExpressibleByArgument {}
extension SessionMode: ExpressibleByArgument {}

/// The texts of `--contact-card`, `--header-text`… read from their files ("" clears).
struct FileTexts {
    var contactCard, headerText, headerHTML, footerText, footerHTML: String??

    init(contactCard: String?, headerText: String?, headerHTML: String?, footerText: String?, footerHTML: String?) throws {
        self.contactCard = try Self.read(contactCard)
        self.headerText = try Self.read(headerText)
        self.headerHTML = try Self.read(headerHTML)
        self.footerText = try Self.read(footerText)
        self.footerHTML = try Self.read(footerHTML)
    }

    func apply(to settings: inout ChannelSettings) {
        contactCard.map { settings.contactCard = $0 }
        headerText.map { settings.templateHeaderText = $0 }
        headerHTML.map { settings.templateHeaderHTML = $0 }
        footerText.map { settings.templateFooterText = $0 }
        footerHTML.map { settings.templateFooterHTML = $0 }
    }

    /// nil: not given; .some(nil): clear; .some(text): the file's UTF-8 text.
    static func read(_ path: String?) throws -> String?? {
        guard let path else { return nil }
        if path.isEmpty { return .some(nil) }
        guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
        guard let text = String(data: data, encoding: .utf8) else { fail("\(path) is not UTF-8 text") }
        return .some(text)
    }
}
