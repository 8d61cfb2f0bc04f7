import ArgumentParser
import Foundation
import PostgateAutoReply
import PostgateDirectory
import PostgateGateway
import PostgateMaildir
import PostgateMessage
import PostgateStore

/// The auto-reply options of `postgate address set`.
struct AutoReplyOptions: ParsableArguments {
    @Option(name: .customLong("autoreply-in"), help: ArgumentHelp("send the in-hours auto-reply (an acknowledgement)", valueName: "true|false"))
    var inEnabled: Bool?
    @Option(name: .customLong("autoreply-out"), help: ArgumentHelp("send the out-of-hours auto-reply (with the next opening)", valueName: "true|false"))
    var outEnabled: Bool?
    @Option(name: .customLong("autoreply-in-text"), help: ArgumentHelp("in-hours auto-reply, text Mustache template; \"\" clears", valueName: "FILE"))
    var inText: String?
    @Option(name: .customLong("autoreply-in-html"), help: ArgumentHelp("in-hours auto-reply, HTML Mustache template; \"\" clears", valueName: "FILE"))
    var inHTML: String?
    @Option(name: .customLong("autoreply-out-text"), help: ArgumentHelp("out-of-hours auto-reply, text Mustache template; \"\" clears", valueName: "FILE"))
    var outText: String?
    @Option(name: .customLong("autoreply-out-html"), help: ArgumentHelp("out-of-hours auto-reply, HTML Mustache template; \"\" clears", valueName: "FILE"))
    var outHTML: String?
    @Flag(name: .customLong("autoreply-inline"), help: "the --autoreply-*-text/-html values are the templates themselves, not file names")
    var inline = false
    @Option(name: .customLong("autoreply-period"), help: ArgumentHelp("session: answer the first message of each session; or at most one auto-reply per customer in N hours (1-8760)", valueName: "session|N"))
    var period: AutoReplyPeriod?
    @Option(name: .customLong("autoreply-hourly-cap"), help: ArgumentHelp("most auto-replies to one sender in an hour (0-100), or default (auto_replies.max_per_sender_per_hour)", valueName: "N|default"))
    var hourlyCap: AutoReplyCap?

    /// The four templates, read from their files (or inline); nil: not given, .some(nil): clear.
    func texts() throws -> [String??] {
        try [inText, inHTML, outText, outHTML].map { value throws -> String?? in
            guard inline, let value else { return try FileTexts.read(value) }
            return .some(value.isEmpty ? nil : value)
        }
    }

    func apply(_ texts: [String??], to settings: inout ChannelSettings) {
        inEnabled.map { settings.autoReplyInEnabled = $0 }
        outEnabled.map { settings.autoReplyOutEnabled = $0 }
        texts[0].map { settings.autoReplyInText = $0 }
        texts[1].map { settings.autoReplyInHTML = $0 }
        texts[2].map { settings.autoReplyOutText = $0 }
        texts[3].map { settings.autoReplyOutHTML = $0 }
        period.map { settings.autoReplyPeriodHours = $0.hours }
        hourlyCap.map { settings.autoReplyHourlyCap = $0.value }
    }
}

/// `session`, or a number of hours (checked with the other settings, so that a bad one is
/// refused in the same words whichever way it comes).
struct AutoReplyPeriod: ExpressibleByArgument {
    var hours: Int?

    init?(argument: String) {
        if argument.lowercased() == "session" { hours = nil; return }
        guard let number = Int(argument) else { return nil }
        hours = number
    }
}

/// A number, or `default`.
struct AutoReplyCap: ExpressibleByArgument {
    var value: Int?

    init?(argument: String) {
        if argument.lowercased() == "default" { value = nil; return }
        guard let number = Int(argument) else { return nil }
        value = number
    }
}

extension AutoReplyKind: ExpressibleByArgument {}

extension AddressCommand {
    /// `postgate address autoreply …`.
    struct AutoReply: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "autoreply",
            abstract: "Preview an address's auto-replies (set them with `postgate address set --autoreply-…`).",
            discussion: """
            An address has two auto-replies (RFC 3834): one in working hours (an acknowledgement) \
            and one outside them (with the next opening), chosen by the address's calendar. Each \
            is a text and an optional HTML Mustache template with the variables customer_name, \
            subject, session_reference, next_opening (Monday 28 December 2026, 09:00), \
            next_opening_date, next_opening_time, time_zone and queue. An auto-reply answers the \
            first message of a session (or one per customer per --autoreply-period hours), never \
            automatic, bulk or list mail, a null sender or the gateway's own addresses, and at \
            most --autoreply-hourly-cap per sender an hour.
            """,
            subcommands: [Preview.self]
        )

        /// `postgate address autoreply preview EMAIL [--hours in|out] [--at TIME] [--draft] [--html FILE]`.
        struct Preview: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Show an address's auto-reply as a customer would receive it.",
                discussion: """
                The template is rendered with a sample customer and session and the next opening \
                of the address's calendar after --at (default now), then composed as a queued \
                auto-reply is: From, Reply-To, the reply template's header and footer. Nothing is \
                signed, queued or sent. Without --hours, the kind the calendar picks at --at. The \
                published settings are used, or the draft with --draft. With --json: {kind, from, \
                replyTo, to, subject, autoSubmitted, text, html}.
                """
            )

            @Argument(help: "the address") var email: String
            @Option(help: ArgumentHelp("which auto-reply: in (working hours) or out", valueName: "in|out")) var hours: AutoReplyKind?
            @Option(help: ArgumentHelp("the time the customer writes, ISO 8601 (default now)", valueName: "TIME")) var at: String?
            @Flag(help: "preview the draft settings instead of the published ones") var draft = false
            @Option(help: ArgumentHelp("write the HTML part to FILE", valueName: "FILE")) var html: String?
            @OptionGroup var options: StoreOptions

            struct Output: Encodable {
                var kind: String
                var from, replyTo, to, subject, autoSubmitted, text, html: String?

                enum CodingKeys: String, CodingKey { case kind, from, replyTo, to, subject, autoSubmitted, text, html }

                /// Every key, `null` where the auto-reply has no such field or part.
                func encode(to encoder: any Encoder) throws {
                    var c = encoder.container(keyedBy: CodingKeys.self)
                    try c.encode(kind, forKey: .kind)
                    for (key, value) in [(CodingKeys.from, from), (.replyTo, replyTo), (.to, to), (.subject, subject),
                                         (.autoSubmitted, autoSubmitted), (.text, text), (.html, html)] {
                        try c.encode(value, forKey: key)
                    }
                }
            }

            func run() throws {
                let address = parseAddress(email)
                let moment = CalendarCommand.moment(at)
                let store = try options.openStore()
                let record = try previewedRecord(address, draft: draft, store: store)
                let calendar = try reportingFailure { () throws(StoreError) in try store.workingCalendar(of: address) }?.calendar
                let kind = hours ?? ((calendar?.isOpen(at: moment) ?? true) ? .inHours : .outOfHours)
                let message: [UInt8]
                do {
                    message = try ReplyPreview.composeAutoReply(record, kind: kind, calendar: calendar, queue: record.settings.defaultQueue,
                                                                outbound: options.gatewayConfiguration().outbound, date: moment)
                } catch let error as StoreError {
                    fail(error.description)
                } catch {
                    fail("cannot compose the sample auto-reply: \(error)")
                }
                let header = MessageHeader.parse(message)
                let parts = ReplyPreview.parts(of: message)
                if let html {
                    guard let body = parts.html else { fail("the sample auto-reply has no HTML part") }
                    do { try Data(ReplyPreview.page(html: body).utf8).write(to: URL(fileURLWithPath: html)) } catch {
                        fail("cannot write \(html): \(error.localizedDescription)")
                    }
                }
                let output = Output(kind: kind.rawValue, from: header["From"], replyTo: header["Reply-To"], to: header["To"],
                                    subject: header["Subject"], autoSubmitted: header["Auto-Submitted"], text: parts.text, html: parts.html)
                try options.print(output) {
                    var lines = [("From", output.from), ("Reply-To", output.replyTo), ("To", output.to), ("Subject", output.subject),
                                 ("Auto-Submitted", output.autoSubmitted)]
                        .compactMap { name, value in value.map { "\(name): \($0)" } }
                    lines.append("")
                    lines.append(parts.text ?? "(no text part)")
                    if let html { lines.append("HTML part written to \(html)") }
                    return lines.joined(separator: "\n")
                }
            }
        }
    }
}
