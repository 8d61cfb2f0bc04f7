import ArgumentParser
import Foundation
import PostgateDirectory

/// The options of `postgate address set` for who works a session: last-agent mode, the
/// transfer on no agent reply, and the closing message.
struct SessionRuleOptions: ParsableArguments {
    @Option(name: .customLong("last-agent-days"), help: ArgumentHelp("a returning customer's new session goes to the agent who owned their last one, if active within N days (1-3650); off turns it off", valueName: "N|off"))
    var lastAgentDays: Switchable?
    @Option(name: .customLong("transfer-after"), help: ArgumentHelp("move a session whose customer message no agent answered for this long in working time (the calendar) to --transfer-queue: 30m, 2h, 1d…; off turns it off", valueName: "DURATION|off"))
    var transferAfter: TransferWait?
    @Option(name: .customLong("transfer-queue"), help: ArgumentHelp("where --transfer-after moves a session; \"\" for the address's default queue", valueName: "QUEUE"))
    var transferQueue: String?
    @Option(name: .customLong("closing-text"), help: ArgumentHelp("closing message sent when a session ends without the customer's reply, text Mustache template (the auto-reply variables); \"\" clears", valueName: "FILE"))
    var closingText: String?
    @Option(name: .customLong("closing-html"), help: ArgumentHelp("closing message, HTML Mustache template; \"\" clears", valueName: "FILE"))
    var closingHTML: String?

    /// The two closing templates, read from their files (inline with --autoreply-inline).
    func texts(inline: Bool) throws -> [String??] {
        try [closingText, closingHTML].map { value throws -> String?? in
            guard inline, let value else { return try FileTexts.read(value) }
            return .some(value.isEmpty ? nil : value)
        }
    }

    func apply(_ texts: [String??], to settings: inout ChannelSettings) {
        lastAgentDays.map { settings.lastAgentDays = $0.value }
        transferAfter.map { settings.transferAfterSeconds = $0.seconds }
        transferQueue.map { settings.transferQueue = $0.isEmpty ? nil : $0 }
        texts[0].map { settings.closingText = $0 }
        texts[1].map { settings.closingHTML = $0 }
    }
}

/// A number, or `off`.
struct Switchable: ExpressibleByArgument {
    var value: Int?

    init?(argument: String) {
        if argument.lowercased() == "off" { value = nil; return }
        guard let number = Int(argument) else { return nil }
        value = number
    }
}

/// A duration with a unit (s, m, h, d), or `off`.
struct TransferWait: ExpressibleByArgument {
    var seconds: Int?

    init?(argument: String) {
        let text = argument.lowercased()
        if text == "off" { seconds = nil; return }
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        guard let unit = text.last.flatMap({ units[$0] }), let number = Int(text.dropLast()), number >= 0,
              number <= Int.max / unit else { return nil }
        seconds = number * unit
    }
}
