import NIOPosix
import PostgateStore

/// The retention passes of `postgate serve` (see `MailStore.applyRetention`).
extension Gateway {
    /// Runs a pass a minute after start, then every `retention.interval` seconds, on the pool.
    func startRetention(store: MailStore) -> Task<Void, Never>? {
        let interval = configuration.retention.interval
        guard interval > 0 else { return nil }
        let (threadPool, logger) = (self.threadPool, self.logger)
        return Task {
            var wait = min(60, interval)
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: .seconds(wait))
                    try await threadPool.runIfActive {
                        try store.recordRetention(try store.applyRetention(), actor: "retention", recordNothing: false)
                    }
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("retention pass failed; the next one tries again", metadata: ["error": "\(error)"])
                }
                wait = interval
            }
        }
    }
}
