import ArgumentParser
import Foundation
import PostgateCSV
import PostgateMessage
import PostgatePolicy
import PostgateStore
import PostgateMaildir

extension BlocklistCommand {
    /// `postgate blocklist import ADDRESS FILE.csv [--column NAME] [--dry-run]`.
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Block the senders listed in a CSV file.",
            discussion: """
            The file is CSV (RFC 4180): comma-separated, fields in double quotes may hold \
            commas, quotes ("") and line breaks; CRLF or LF line ends; a UTF-8 byte order mark \
            is ignored. With one column no mapping is needed (a header like "email" is \
            recognised). With several, the first row is the header and --column names the \
            column holding the addresses.

            Before saving, the command reports the valid rows, the duplicates (within the file \
            and against the entries already listed) and the rows in error, with line numbers. \
            Then it saves every valid row in one transaction: all of them or none. With \
            --dry-run it only reports. A progress bar is shown on a terminal. With --json: one \
            object with column, rows, valid, duplicatesInFile, alreadyListed, errors, saved, dryRun.
            """
        )

        @Argument(help: "the receiving address whose blocklist it is")
        var address: String

        @Argument(help: "the CSV file", completion: .file(extensions: ["csv"]))
        var file: String

        @Option(name: .long, help: ArgumentHelp("the header of the column with the addresses", valueName: "NAME"))
        var column: String?

        @Flag(name: .customLong("dry-run"), help: "validate and report only; change nothing")
        var dryRun = false

        @OptionGroup var options: StoreOptions

        func run() throws {
            let address = parseAddress(address)
            let store = try options.openStore()
            let existing = try reportingFailure { () throws(StoreError) in try store.blocklistValues(of: address) }
            var report = readReport(existing: existing)
            report.dryRun = dryRun
            if !dryRun && !report.valid.isEmpty {
                let entries = report.entries
                try reportingFailure { () throws(StoreError) in try store.addToBlocklist(entries, of: address) }
                report.saved = true
            }
            try options.print(report) {
                let outcome = dryRun ? "dry run: nothing saved"
                    : report.saved ? "saved \(report.valid.count) entries to the blocklist of \(address.canonicalText)"
                    : "nothing to save"
                return report.summary + "\n" + outcome
            }
        }

        /// Reads and checks the whole file, with a progress bar on a terminal.
        private func readReport(existing: Swift.Set<String>) -> BlocklistImportReport {
            var validator = BlocklistImportValidator(column: column, existing: existing)
            var progress = ProgressBar(label: "reading \(file)")
            do {
                try CSVFileReader(path: file).read(progress: { progress.update($0, of: $1) }) { try validator.take($0) }
                progress.finish()
                return try validator.finish()
            } catch {
                progress.finish()
                fail("\(file): \(error)")
            }
        }
    }
}
