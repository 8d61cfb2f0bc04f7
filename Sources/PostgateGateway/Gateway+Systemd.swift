import NIOCore
import NIOPosix

/// Telling a service manager (systemd, `Type=notify`) when the gateway is ready, that it
/// is alive, and that it is stopping.
extension Gateway {
    /// Sends `state` on the pool (a system call; never on an event loop or here).
    func notify(_ notifier: SystemdNotifier, _ state: String) async {
        let logger = self.logger
        _ = try? await threadPool.runIfActive {
            if let failure = notifier.send(state) {
                logger.warning("service manager notification not sent", metadata: ["state": "\(state)", "error": "\(failure)"])
            }
        }
    }

    /// `WATCHDOG=1` every half `WatchdogSec`, each only after an event loop and the pool
    /// have answered: when either is stuck, the pings stop and the service manager
    /// restarts the gateway.
    func startWatchdog(_ notifier: SystemdNotifier) -> Task<Void, Never>? {
        guard let interval = notifier.watchdogInterval else { return nil }
        let (group, threadPool) = (self.group, self.threadPool)
        return Task {
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: interval)
                    try await group.next().submit {}.get()
                    try await threadPool.runIfActive {
                        _ = notifier.send("WATCHDOG=1")
                    }
                } catch {
                    return
                }
            }
        }
    }
}
