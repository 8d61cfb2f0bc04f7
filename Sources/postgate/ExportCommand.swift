import ArgumentParser
import Foundation
import PostgateStore
import PostgateMaildir
import PostgateDirectory

/// `postgate export`: the channel configuration as JSON or CSV.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the channel configuration (domains, queues, addresses, filters, blocklists) as JSON or CSV.",
        discussion: """
        No passwords, keys or messages are written. JSON goes to standard output or --output \
        FILE. The JSON also lists the mailbox connectors (gateways) without their secrets, for \
        reference: import leaves connectors as they are, and CSV does not carry them. CSV needs --output DIR and writes domains.csv, queues.csv, addresses.csv (one \
        column per setting; lists and the draft as JSON in their cell), filters.csv and \
        blocklist.csv (address, kind, entry). \
        `postgate import` reads either back; the round trip is lossless.
        """
    )

    @Option(help: ArgumentHelp("json or csv", valueName: "FORMAT"))
    var format: ExportFormat = .json

    @Option(help: ArgumentHelp("file (json) or directory (csv) to write", valueName: "PATH"))
    var output: String?

    @OptionGroup var options: StoreOptions

    func run() throws {
        let export = try options.withStore { (store) throws(StoreError) in try store.exportChannels() }
        switch format {
        case .json:
            let data = try ChannelExport.encoder.encode(export) + Data("\n".utf8)
            guard let output else { return FileHandle.standardOutput.write(data) }
            try write(data, to: output)
        case .csv:
            guard let output else { fail("export --format csv needs --output DIR") }
            do {
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            } catch {
                fail("cannot create \(output): \(error.localizedDescription)")
            }
            for (name, table) in ChannelCSV.tables(of: export) {
                try write(Data(table.utf8), to: output + "/" + name)
            }
        }
        if output != nil {
            FileHandle.standardError.write(Data("exported \(export.domains.count) domains, \(export.queues.count) queues, \(export.addresses.count) addresses, \(export.filters.count) filters, \(export.blocklist?.count ?? 0) blocklist entries to \(output!)\n".utf8))
        }
    }

    private func write(_ data: Data, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: data) else { fail("cannot write \(path)") }
    }
}

enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
    case json
    case csv
}

extension ChannelExport {
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}
