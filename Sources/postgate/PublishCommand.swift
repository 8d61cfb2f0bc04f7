import ArgumentParser
import PostgateStore
import PostgateMaildir

/// `postgate publish [ADDRESS…] --comment …`: makes address drafts live.
struct PublishCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish the drafts of addresses and their connectors (all with drafts, or those named).",
        discussion: """
        Edits of an address and of its connectors (`postgate connector set`) are drafts until \
        published; all named drafts are published together or none is. Connector changes are \
        recorded as receiving.FIELD / sending.FIELD, a secret's value only as (changed). A running `postgate serve` applies them to the next message. \
        --history lists earlier publications. With --json: the publication {id, publishedAt, \
        comment, addresses[{address, changes[{field, published, draft}]}]}.
        """
    )

    @Argument(help: "the addresses to publish; none means every address with a draft (its own or a connector's)")
    var addresses: [String] = []

    @Option(help: ArgumentHelp("why, recorded with the publication (required)", valueName: "TEXT"))
    var comment: String?

    @Flag(help: "list earlier publications instead")
    var history = false

    @OptionGroup var options: StoreOptions

    func run() throws {
        let store = try options.openStore()
        if history {
            let all = try reportingFailure { () throws(StoreError) in try store.publications() }
            return try options.print(all) {
                guard !all.isEmpty else { return "nothing published yet" }
                return TextTable(headers: ["ID", "PUBLISHED", "ADDRESSES", "COMMENT"], rows: all.map {
                    [String($0.id), $0.publishedAt.formatted(.iso8601), $0.addresses.map(\.address).joined(separator: ", "), $0.comment]
                }).render()
            }
        }
        guard let comment, !comment.trimmingCharacters(in: .whitespaces).isEmpty else {
            fail("publish needs --comment TEXT saying what changes and why")
        }
        let named = addresses.isEmpty ? nil : addresses.map(parseAddress)
        let publication = try reportingFailure { () throws(StoreError) in try store.publish(named, comment: comment) }
        try options.print(publication) {
            publication.addresses.map { entry in
                "published \(entry.address): " + entry.changes.map(\.field).joined(separator: ", ")
            }.joined(separator: "\n")
        }
    }
}
