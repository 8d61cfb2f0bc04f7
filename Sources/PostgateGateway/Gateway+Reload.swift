import Foundation
import Logging
import NIOPosix
import PostgateBlocking
import Synchronization
import UnixSignals

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reloading without closing a session: on SIGHUP (`postgate reload`, systemd's
/// `ExecReload`) `serve` reads its configuration file again and checks it whole, then
/// applies what can change while listeners run (see `GatewayConfiguration.reload(to:)`).
/// A configuration that does not check out, or a certificate that does not load, changes
/// nothing: one error line says why and the running configuration stays.
extension Gateway {
    /// Where the configuration comes from, for reading it again.
    public struct ConfigurationSource: Sendable {
        /// The absolute path of the file; nil for the embedded default.
        public var file: String?
        /// Reads and checks the configuration, with the command line's overrides applied
        /// as at start. Blocking: it runs on the pool.
        public var load: @Sendable () throws -> GatewayConfiguration

        public init(file: String?, load: @escaping @Sendable () throws -> GatewayConfiguration) {
            self.file = file
            self.load = load
        }
    }

    /// The configuration in force: the one the gateway started with, as reloads changed it.
    public var runningConfiguration: GatewayConfiguration {
        running.withLock { $0 }
    }

    /// Applies `new` as far as a running gateway can: the certificate and key files are
    /// read again (and checked to make a TLS context) and replace the listeners' certificate
    /// for handshakes from now on; the log level changes. Throws, changing nothing, when the
    /// certificate does not load.
    @discardableResult
    public func reload(to new: GatewayConfiguration) async throws -> ConfigurationReload {
        let plan = runningConfiguration.reload(to: new)
        if let certificate {
            let (configuration, dataDirectory) = (plan.configuration, self.dataDirectory)
            let material = try await threadPool.runIfActive {
                BlockingWork.assertAllowedHere("reading the TLS certificate again")
                return try TLSMaterial.load(configuration: configuration, dataDirectory: dataDirectory)
            }
            certificate.replace(with: material)
        }
        logLevel?.current = plan.configuration.logLevel
        running.withLock { $0 = plan.configuration }
        return plan
    }

    /// Reads the configuration from `source` again and applies it, logging the outcome in
    /// one line (and one more naming the changed settings only a restart applies). Under a
    /// service manager the reload is announced (`RELOADING=1`) and its end reported
    /// (`READY=1`).
    func reload(from source: ConfigurationSource, notifier: SystemdNotifier?) async {
        if let notifier {
            await notify(notifier, "RELOADING=1\nMONOTONIC_USEC=\(Self.monotonicMicroseconds())\nSTATUS=reloading the configuration")
        }
        let file = source.file ?? "the embedded default"
        do {
            let new = try await threadPool.runIfActive {
                BlockingWork.assertAllowedHere("reading the configuration again")
                return try source.load()
            }
            let plan = try await reload(to: new)
            logger.notice("configuration reloaded", metadata: [
                "config": "\(file)", "certificate": "\(certificate?.certificateFile ?? "none")",
                "certificate_expires": "\(certificate?.notValidAfter.map { $0.formatted(.iso8601) } ?? "-")",
                "changed": "\(plan.applied.isEmpty ? "none" : plan.applied.joined(separator: ","))",
            ])
            if !plan.needsRestart.isEmpty {
                logger.warning("restart needed to apply changed settings; their running values stay",
                               metadata: ["settings": "\(plan.needsRestart.joined(separator: ","))"])
            }
        } catch {
            let reason = "\(error)".split(whereSeparator: \.isNewline).joined(separator: " ")
            logger.error("configuration reload refused; the running configuration stays", metadata: ["error": "\(reason)"])
        }
        if let notifier { await notify(notifier, "READY=1\nSTATUS=accepting mail") }
    }

    /// Reloads on every SIGHUP, one after the other, until cancelled. `hangups` traps
    /// SIGHUP from the moment it is made (before the listeners bind, so an early signal
    /// never ends the process).
    func startReloading(on hangups: UnixSignalsSequence, from source: ConfigurationSource,
                        notifier: SystemdNotifier?) -> Task<Void, Never> {
        Task {
            for await _ in hangups {
                await reload(from: source, notifier: notifier)
            }
        }
    }

    /// Writes `DATA/postgate.pid` (ServerProcessFile) for `postgate reload`; a failure is
    /// logged, not fatal: systemd and `kill -HUP` do not need the file.
    func writeProcessFile(_ file: ServerProcessFile) async {
        let (dataDirectory, logger) = (self.dataDirectory, self.logger)
        do {
            try await threadPool.runIfActive { try file.write(dataDirectory: dataDirectory) }
        } catch {
            logger.warning("process file not written; `postgate reload` cannot find this server", metadata: ["error": "\(error)"])
        }
    }

    /// CLOCK_MONOTONIC in microseconds, as `MONOTONIC_USEC=` wants it (sd_notify(3)).
    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
    }
}
