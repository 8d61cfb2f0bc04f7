import ArgumentParser
import Foundation
import PostgateDirectory
import PostgateMaildir
import PostgateStore

extension AddressCommand {
    /// `postgate address hours EMAIL [--at TIME]`.
    struct Hours: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Whether an address is in working hours now (or at --at) and when that changes next.",
            discussion: "By the address's calendar, else the calendar named default, else always open. With --json: {name, calendar, at, open, nextChange}."
        )
        @Argument(help: "the address (or an alias)") var email: String
        @Option(help: ArgumentHelp("the time to look at, ISO 8601", valueName: "TIME")) var at: String?
        @OptionGroup var options: StoreOptions

        func run() throws {
            let address = parseAddress(email)
            let moment = CalendarCommand.moment(at)
            let record = try options.withStore { (store) throws(StoreError) in try store.workingCalendar(of: address) }
            let view = HoursView(record: record, at: moment)
            try options.print(view) {
                guard let record else { return "\(address.canonicalText) has no calendar (and there is no calendar named default): always in working hours" }
                return "\(address.canonicalText) by calendar \(record.name): " + (view.open ? "in working hours" : "outside working hours")
                    + (view.nextChange.map { "; \(view.open ? "closes" : "opens") \($0.formatted(.iso8601))" } ?? "")
            }
        }
    }
}
