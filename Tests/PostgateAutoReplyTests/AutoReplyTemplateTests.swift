import Foundation
import Testing
@testable import PostgateAutoReply
import PostgatePolicy

/// Auto-reply templates: rendering the variables, escaping in HTML only, and refusing what
/// could not render (syntax, unknown variables, partials) when the template is set.
@Suite struct AutoReplyTemplateTests {
    static func values() -> AutoReplyValues {
        var values = AutoReplyValues()
        values.customerName = "Jane O'Brien & Co"
        values.subject = "Order <42>"
        values.sessionReference = "17"
        values.queue = "billing"
        return values
    }

    @Test func textRendersTheVariablesAsTheyAre() throws {
        let template = try AutoReplyTemplate("Dear {{customer_name}}, about \"{{subject}}\" (ref {{session_reference}}, {{queue}}).",
                                             format: .text)
        #expect(template.render(Self.values()) == "Dear Jane O'Brien & Co, about \"Order <42>\" (ref 17, billing).")
    }

    @Test func htmlEscapesTheValues() throws {
        let template = try AutoReplyTemplate("<p>{{customer_name}}: {{subject}}</p>", format: .html)
        #expect(template.render(Self.values()) == "<p>Jane O&#39;Brien &amp; Co: Order &lt;42&gt;</p>")
    }

    @Test func anEmptyValueClosesItsSectionAndOpensItsInvertedOne() throws {
        let template = try AutoReplyTemplate("{{#customer_name}}Dear {{customer_name}}{{/customer_name}}{{^customer_name}}Hello{{/customer_name}},",
                                             format: .text)
        #expect(template.render(Self.values()) == "Dear Jane O'Brien & Co,")
        #expect(template.render(AutoReplyValues()) == "Hello,")
    }

    @Test(arguments: [
        ("Hello {{name}}", AutoReplyTemplateError.unknownVariable("name", known: AutoReplyValues.names.sorted())),
        ("{{#subject}}{{agent}}{{/subject}}", .unknownVariable("agent", known: AutoReplyValues.names.sorted())),
        ("{{^customer_name}}{{customer}}{{/customer_name}}", .unknownVariable("customer", known: AutoReplyValues.names.sorted())),
        ("{{customer.name}}", .unknownVariable("customer", known: AutoReplyValues.names.sorted())),
        ("{{> signature}}", .unsupportedTag("{{> signature}}")),
        ("{{=<% %>=}}<%subject%>", .unsupportedTag("{{=<% %>=}}")),
    ])
    func unknownNamesAndPartialsAreRefused(source: String, error: AutoReplyTemplateError) {
        #expect(throws: error) { try AutoReplyTemplate(source, format: .text) }
    }

    @Test func aSyntaxErrorNamesItsLine() {
        #expect {
            try AutoReplyTemplate("Hello\n{{#subject}}\nno end", format: .html)
        } throws: { error in
            guard case .syntax(let line, _) = error as? AutoReplyTemplateError else { return false }
            return line == 3
        }
        #expect((AutoReplyTemplateError.unknownVariable("x", known: AutoReplyValues.names.sorted())).description.contains("known: customer_name, next_opening"))
    }

    @Test func theNextOpeningIsWrittenInTheCalendarsTimeZone() throws {
        var calendar = WorkingCalendar()
        calendar.timeZone = "Europe/Berlin"
        calendar.workdaySegments = [try .init(parsing: "09:00-17:00")]
        calendar.nonWorkdaySegments = [try .init(parsing: "10:00-12:00")]
        calendar.holidays = ["2026-12-25", "2026-12-26"]
        calendar = try calendar.validated()
        var values = AutoReplyValues()
        // Thursday 24 December, 23:00 UTC (midnight in Berlin): Christmas opens at 10:00.
        values.setNextOpening(of: calendar, after: try Date("2026-12-24T23:00:00Z", strategy: .iso8601))
        #expect(values.nextOpening == "Friday 25 December 2026, 10:00")
        #expect(values.nextOpeningDate == "2026-12-25" && values.nextOpeningTime == "10:00" && values.timeZone == "Europe/Berlin")
        var open = AutoReplyValues()
        open.setNextOpening(of: calendar, after: try Date("2026-12-28T09:00:00Z", strategy: .iso8601))
        #expect(open.nextOpening.isEmpty && open.dictionary["next_opening"] == nil)
    }

    @Test func theCustomerNameIsTheDecodedPhraseOfFrom() {
        #expect(AutoReplyValues.displayName(from: "\"Jane \\\"JJ\\\" Doe\" <jane@example.test>") == "Jane \"JJ\" Doe")
        #expect(AutoReplyValues.displayName(from: "=?utf-8?q?J=C3=BCrgen?= <j@example.test>") == "Jürgen")
        #expect(AutoReplyValues.displayName(from: "jane@example.test").isEmpty)
        #expect(AutoReplyValues.displayName(from: nil).isEmpty)
    }
}
