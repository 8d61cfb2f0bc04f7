import Foundation
import PostgateConnectors

extension ReceivingGatewayFetcher {
    func runIMAPPass(credential: GatewayCredential) async throws -> PassReport {
        throw FetchError("IMAP receiving gateways are not available in this build")
    }
}

/// A fetch failure described in one line.
struct FetchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
