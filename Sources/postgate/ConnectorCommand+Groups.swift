import ArgumentParser
import Foundation
import Logging
import NIOPosix
import PostgateConnectors
import PostgateDirectory
import PostgateGateway
import PostgateMessage
import PostgateStore
import PostgateMaildir

extension ConnectorCommand {
    /// `postgate connector groups ADDRESS`.
    struct Groups: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the Microsoft 365 groups a Graph gateway's application can read.",
            discussion: """
            Uses the credentials of the address's Graph gateway (the receiving one, else the \
            sending one; the draft when there is one) to list the Microsoft 365 groups \
            (groupTypes Unified) with their id, name and mail address. The application needs \
            Group.Read.All. With --json: [{id, displayName, mail}].
            """
        )

        @Argument(help: "an address with a Graph gateway")
        var email: String

        @OptionGroup var options: StoreOptions

        struct Group: Encodable {
            var id: String
            var displayName: String
            var mail: String?
        }

        func run() async throws {
            let address = parseAddress(email)
            let store = try options.openStore()
            let (receiving, sending) = try reportingFailure { () throws(StoreError) in try store.gateways(of: address) }
            let configuration = options.gatewayConfiguration()
            let httpClient = Gateway.makeHTTPClient(group: MultiThreadedEventLoopGroup.singleton)
            let credentials = Gateway.makeCredentials(
                configuration: configuration, store: store, httpClient: httpClient, threadPool: NIOThreadPool.singleton,
                logger: Logger(label: "postgate.connector"))
            func finish() async {
                await credentials.shutdown()
                try? await httpClient.shutdown()
            }
            let mailbox: GraphMailbox
            if let settings = receiving.flatMap({ $0.draft ?? $0.published }), settings.kind == .graph {
                mailbox = ReceivingGatewayProbe.graphMailbox(of: ReceivingGateway(id: 0, address: address, settings: settings), credentials: credentials)
            } else if let settings = sending.flatMap({ $0.draft ?? $0.published }), settings.kind == .graph {
                mailbox = credentials.graphMailbox(address: address, settings: settings)
            } else {
                await finish()
                fail("\(address.canonicalText) has no Graph gateway; add one with `postgate connector set \(address.canonicalText) --receiving graph …`")
            }
            let groups: [Group]
            do {
                groups = try await mailbox.unifiedGroups().map { Group(id: $0.id, displayName: $0.displayName, mail: $0.mail) }
            } catch {
                await finish()
                fail("cannot list the groups: \(String(describing: error).split(whereSeparator: \.isNewline).joined(separator: " "))")
            }
            await finish()
            try options.print(groups) {
                groups.isEmpty ? "no Microsoft 365 groups are visible to the application" : TextTable(
                    headers: ["ID", "NAME", "MAIL"], rows: groups.map { [$0.id, $0.displayName, $0.mail ?? "-"] }).render()
            }
        }
    }
}
