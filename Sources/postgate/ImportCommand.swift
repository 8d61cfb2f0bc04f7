import ArgumentParser
import Foundation
import PostgateStore
import PostgateMaildir
import PostgateDirectory

/// `postgate import PATH`: reads a channel export back.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Read a channel configuration written by `postgate export` (JSON file or CSV directory).",
        discussion: """
        Missing domains, queues and addresses are created (within the domain-kind limits); \
        the addresses named get the settings, draft, filters and blocklist of the document (a \
        document without a blocklist, written by an older version, leaves blocklists alone). Everything \
        is checked and applied in one transaction: a document with an error changes nothing. \
        --dry-run checks only. Mailbox connectors, which an export lists without their secrets, \
        are not imported: set them with `postgate connector set`. With --json: {domainsAdded, queuesAdded, addressesAdded, \
        addressesUpdated, filtersWritten, blocklistEntriesWritten, dryRun}.
        """
    )

    @Argument(help: "a JSON file, or a directory with domains.csv, queues.csv, addresses.csv, filters.csv[, blocklist.csv]")
    var path: String

    @Flag(help: "check the document against the data and change nothing")
    var dryRun = false

    @OptionGroup var options: StoreOptions

    func run() throws {
        let export = try readExport()
        let store = try options.openStore()
        let limits = options.channelLimits()
        let report = try reportingFailure { () throws(StoreError) in try store.importChannels(export, limits: limits, dryRun: dryRun) }
        try options.print(report) {
            let verb = report.dryRun ? "would import" : "imported"
            return "\(verb): \(report.domainsAdded.count) new domains, \(report.queuesAdded.count) new queues, "
                + "\(report.addressesAdded.count) new and \(report.addressesUpdated.count) updated addresses, \(report.filtersWritten) filters, "
                + "\(report.blocklistEntriesWritten) blocklist entries"
        }
    }

    private func readExport() throws -> ChannelExport {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { fail("\(path) does not exist") }
        if isDirectory.boolValue {
            var files: [String: String] = [:]
            for name in ChannelCSV.fileNames {
                files[name] = FileManager.default.contents(atPath: path + "/" + name).map { String(decoding: $0, as: UTF8.self) }
            }
            return try reportingFailure { () throws(StoreError) in try ChannelCSV.export(from: files) }
        }
        guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(ChannelExport.self, from: data)
        } catch {
            fail("\(path) is not a Postgate channel export (JSON): \(error)")
        }
    }
}
