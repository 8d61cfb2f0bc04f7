import ArgumentParser
import Foundation
import PostgateGateway
import PostgateMessage
import PostgateStore
import PostgateMaildir
import PostgateDirectory

/// The options every admin command shares: which data directory, and the output format.
struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("data"), help: ArgumentHelp(
        "data directory; default $POSTGATE_DATA, else ./postgate-data", valueName: "DIR"))
    var data: String?

    @Option(name: .customLong("config"), help: ArgumentHelp(
        "config file (channels.limits, channels.secret_key_file, dns, dkim); default $POSTGATE_CONFIG, else the embedded defaults", valueName: "FILE"))
    var config: String?

    @Flag(name: .long, help: "print JSON (for scripts) instead of a table")
    var json = false

    /// `--config`, else `$POSTGATE_CONFIG` when set and not empty.
    var configPath: String? {
        config ?? ProcessInfo.processInfo.environment["POSTGATE_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Which configuration is in use, for people.
    var configDescription: String {
        configPath.map { "\($0) reads and checks out" } ?? "no config file: the embedded defaults"
    }

    /// The configuration of `--config` (or `$POSTGATE_CONFIG`), else the embedded default;
    /// exits naming the problem when the file cannot be read.
    func gatewayConfiguration() -> GatewayConfiguration {
        guard let path = configPath else { return GatewayConfiguration() }
        do {
            return try GatewayConfiguration.load(file: path)
        } catch {
            fail("\(error)")
        }
    }

    /// The domain-kind limits of the configuration (standard 5 × 5, advanced 50 × 50 by default).
    func channelLimits() -> ChannelLimits {
        gatewayConfiguration().channels.limits
    }

    /// The secret key file of the configuration (`channels.secret_key_file`); nil means
    /// the data directory's `secret.key`.
    var secretKeyFile: String? {
        let path = gatewayConfiguration().channels.secretKeyFile
        return path.isEmpty ? nil : path
    }

    /// `--data`, else `$POSTGATE_DATA`, else `./postgate-data`.
    var dataDirectory: String {
        if let data { return data }
        if let environment = ProcessInfo.processInfo.environment["POSTGATE_DATA"], !environment.isEmpty {
            return environment
        }
        return "./postgate-data"
    }

    /// Opens the store, or exits with the reason. A `--config` that cannot be read is an
    /// error for every command, not only for those that need its limits.
    func openStore() throws -> MailStore {
        if configPath != nil { _ = gatewayConfiguration() }
        return try reportingFailure { () throws(StoreError) in try MailStore.open(directory: dataDirectory) }
    }

    /// Opens the store and runs `body` on it; a `StoreError` (opening or in `body`) exits
    /// with its one-line reason.
    @discardableResult
    func withStore<T>(_ body: (MailStore) throws(StoreError) -> T) throws -> T {
        let store = try openStore()
        return try reportingFailure { () throws(StoreError) in try body(store) }
    }

    /// Prints `value` as JSON with `--json`, else the text `human()` makes.
    func print<Value: Encodable>(_ value: Value, human: () -> String) throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601
            let data = try encoder.encode(value)
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        } else {
            let text = human()
            Swift.print(text, terminator: text.isEmpty || text.hasSuffix("\n") ? "" : "\n")
        }
    }
}

/// Runs `body`; a store or input error becomes one line `postgate: <reason>` on standard
/// error and exit status 1. The store checks before it changes anything, so nothing changed.
@discardableResult
func reportingFailure<T, Failure: Error & CustomStringConvertible>(_ body: () throws(Failure) -> T) throws -> T {
    do {
        return try body()
    } catch {
        fail(error.description)
    }
}

/// Prints `postgate: <reason>` (one line) to standard error and exits with status 1.
func fail(_ reason: String) -> Never {
    let line = reason.split(whereSeparator: \.isNewline).joined(separator: " ")
    FileHandle.standardError.write(Data("postgate: \(line)\n".utf8))
    Postgate.exit(withError: ExitCode.failure)
}

/// Parses an address given on the command line, or exits naming it.
func parseAddress(_ text: String) -> EmailAddress {
    do {
        return try EmailAddress(text)
    } catch {
        fail("'\(text)' is not a valid email address: \(error.description)")
    }
}

/// `on` or `off` for a switch given as an argument or option value, or exits naming it.
func parseOnOff(_ text: String, option: String) -> Bool {
    switch text.lowercased() {
    case "on": return true
    case "off": return false
    default: fail("\(option) takes on or off, not '\(text)'")
    }
}

/// Parses a domain given on the command line, or exits naming it.
func parseDomain(_ text: String) -> DomainName {
    do {
        return try DomainName(text)
    } catch {
        fail("'\(text)' is not a valid domain name: \(error.description)")
    }
}

/// A plain-text table for people: one column per header, each as wide as its widest cell.
struct TextTable {
    var headers: [String]
    var rows: [[String]]

    func render() -> String {
        let widths = headers.indices.map { column in
            ([headers[column]] + rows.map { $0[column] }).map(\.count).max() ?? 0
        }
        return ([headers] + rows).map { cells in
            zip(cells, widths).map { cell, width in
                cell.padding(toLength: width, withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }.joined(separator: "\n")
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var text = Substring(self)
        while text.last == " " { text.removeLast() }
        return String(text)
    }
}

/// A JSON acknowledgement for commands that remove something.
struct Removed: Encodable {
    var removed: String
}
