import Foundation
import PostgateGateway
import PostgateStore

extension StoreOptions {
    /// The whole configuration of `--config` (or `$POSTGATE_CONFIG`), else the defaults.
    func gatewayConfiguration() -> GatewayConfiguration {
        let environment = ProcessInfo.processInfo.environment["POSTGATE_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        guard let path = config ?? environment else { return GatewayConfiguration() }
        do {
            return try GatewayConfiguration.load(file: path)
        } catch {
            fail("\(error)")
        }
    }

    /// Opens the outbound queue with the configuration's retry schedule, or exits with the reason.
    func openOutboundQueue() throws -> OutboundQueue {
        let policy = gatewayConfiguration().outbound.retry
        return try reportingFailure { () throws(StoreError) in try OutboundQueue.open(directory: dataDirectory, policy: policy) }
    }
}
