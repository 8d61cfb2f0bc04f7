import Foundation
import PostgateGateway
import PostgateOutbound
import PostgateStore
import PostgateMaildir

extension StoreOptions {
    /// Opens the outbound queue with the configuration's retry schedule, or exits with the reason.
    func openOutboundQueue() throws -> OutboundQueue {
        let policy = gatewayConfiguration().outbound.retry
        return try reportingFailure { () throws(StoreError) in try OutboundQueue.open(directory: dataDirectory, policy: policy) }
    }
}
