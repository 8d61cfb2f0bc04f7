import ArgumentParser
import PostgateSessions
import PostgateStore

extension SessionMode: ExpressibleByArgument {}

extension AddressCommand {
    /// `postgate address set-session-mode EMAIL channel|thread` (issue 4).
    struct SetSessionMode: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-session-mode",
            abstract: "Choose how an address groups inbound mail into sessions.",
            discussion: """
            channel: one open session per customer and address. thread: also channel-based, \
            and every new thread (no Message-ID, References, reply marker or Thread-Index \
            match) starts its own session. Messages already in sessions stay where they are.
            """
        )

        @Argument(help: "the address (or an alias of it)")
        var email: String

        @Argument(help: "channel or thread")
        var mode: SessionMode

        @OptionGroup var options: StoreOptions

        func run() throws {
            let address = parseAddress(email)
            let store = try options.openStore()
            let record = try reportingFailure { () throws(StoreError) in try store.setSessionMode(address, mode) }
            try options.print(record) { "session mode of \(record.email): \(record.sessionMode.rawValue)" }
        }
    }
}
