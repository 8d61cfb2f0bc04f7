import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgateDKIM
import PostgateStore

/// The server's background DKIM verification: every `pollInterval` seconds, checks the keys
/// whose next check is due (backoff schedule, until Success or the 72-hour window ends).
/// The clock is injected so tests can move time.
final class DKIMRechecker: Sendable {
    private let checker: DKIMDomainChecker
    private let threadPool: NIOThreadPool
    private let pollInterval: Double
    private let now: @Sendable () -> Date
    private let logger: Logger

    init(checker: DKIMDomainChecker, threadPool: NIOThreadPool, pollInterval: Double, now: @escaping @Sendable () -> Date, logger: Logger) {
        self.checker = checker
        self.threadPool = threadPool
        self.pollInterval = pollInterval
        self.now = now
        self.logger = logger
    }

    /// Runs until the task is cancelled.
    func run() async {
        while !Task.isCancelled {
            await checkOnce()
            try? await Task.sleep(nanoseconds: UInt64(max(0.05, pollInterval) * 1_000_000_000))
        }
    }

    private func checkOnce() async {
        let checker = self.checker
        let now = self.now()
        do {
            let updated = try await threadPool.runIfActive { try checker.checkDue(now: now) }
            for entry in updated {
                logger.info("dkim check", metadata: [
                    "domain": "\(entry.domain)", "selector": "\(entry.selector)", "status": "\(entry.status)",
                    "reason": "\(entry.statusReason ?? "")",
                ])
            }
        } catch {
            logger.warning("dkim check failed", metadata: ["error": "\(error)"])
        }
    }
}
