import ArgumentParser

/// `postgate`: the gateway (`serve`) and its administration, on one data directory.
@main
struct Postgate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postgate",
        abstract: "Postgate, the email channel of a contact centre: SMTP gateway, store and admin commands.",
        discussion: """
        Every command works on a data directory: --data DIR, else $POSTGATE_DATA, else ./postgate-data.
        `postgate serve` runs the listeners; the admin commands may run beside it on the same data.
        """,
        subcommands: [
            ServeCommand.self, DomainCommand.self, AddressCommand.self, QueueCommand.self, FilterCommand.self,
            PublishCommand.self, ExportCommand.self, ImportCommand.self, DKIMCommand.self, BlocklistCommand.self,
            QuarantineCommand.self, SessionCommand.self, AgentCommand.self, CheckCommand.self, OutboundCommand.self,
            ConnectorCommand.self, BackupCommand.self, RestoreCommand.self, EraseCommand.self, RetentionCommand.self,
            ReportCommand.self, CalendarCommand.self, TokenCommand.self, AuditCommand.self, WebhookCommand.self, BotCommand.self,
            TraceCommand.self,
            ReloadCommand.self, ResponseCommand.self,
        ]
    )

    /// Runs the command; an argument error (an unknown option, a bad or missing value) is one
    /// line `postgate: <reason>` on standard error, like every other error. Help and
    /// `--version` print as usual.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if error is ExitCode || exitCode(for: error) == .success { exit(withError: error) }
            fail(message(for: error))
        }
    }
}
