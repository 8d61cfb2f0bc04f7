import Foundation
import PostgateMaildir
import PostgateMessage
import Testing
@testable import PostgateDirectory

/// An address's auto-reply settings are checked as a whole, like every channel setting:
/// templates that cannot render, a kind switched on without a text, limits out of range.
@Suite struct AutoReplySettingsTests {
    static let owner = try! EmailAddress("support@acme.test")

    static func settings(_ edit: (inout ChannelSettings) -> Void) -> ChannelSettings {
        var settings = ChannelSettings()
        settings.defaultQueue = "general"
        edit(&settings)
        return settings
    }

    static func refusal(_ settings: ChannelSettings) -> String? {
        do {
            _ = try settings.validated(for: owner)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func goodSettingsPassAndGiveTheRules() throws {
        let settings = try Self.settings {
            $0.autoReplyOutEnabled = true
            $0.autoReplyOutText = "Closed until {{next_opening}}."
            $0.autoReplyInHTML = ""
            $0.autoReplyPeriodHours = 24
        }.validated(for: Self.owner)
        #expect(settings.autoReplyInHTML == nil)
        let rules = settings.autoReplyRules(defaultHourlyCap: 5)
        #expect(rules.enabled == [.outOfHours] && rules.periodHours == 24 && rules.hourlyCap == 5)
        #expect(try settings.autoReplyTemplate(.outOfHours, .text)?.render([:] as [String: String]) == "Closed until .")
    }

    @Test func badSettingsAreRefusedInOneLine() {
        #expect(Self.refusal(Self.settings { $0.autoReplyInText = "{{#queue}}" })
            == "the in-hours text auto-reply template: syntax error on line 1: a section is not closed ({{#name}} needs {{/name}})")
        #expect(Self.refusal(Self.settings { $0.autoReplyOutHTML = "{{agent_name}}" })?
            .hasPrefix("the out-of-hours HTML auto-reply template: unknown variable {{agent_name}}") == true)
        #expect(Self.refusal(Self.settings { $0.autoReplyInEnabled = true })
            == "the in-hours auto-reply needs a text template: give it with --autoreply-in-text FILE")
        #expect(Self.refusal(Self.settings { $0.autoReplyHourlyCap = -1 }) == "the auto-reply hourly cap must be from 0 to 100, not -1")
        #expect(Self.refusal(Self.settings { $0.autoReplyPeriodHours = 8761 })?.hasPrefix("the auto-reply period must be from 1 to 8760 hours") == true)
        #expect(Self.refusal(Self.settings { $0.autoReplyInText = String(repeating: "x", count: ChannelSettings.maxTemplateSize + 1) })?
            .hasPrefix("the in-hours text auto-reply template is 65537 bytes") == true)
    }
}
