import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The service manager's notification socket (the `sd_notify(3)` protocol of systemd's
/// `Type=notify` services): one datagram of `KEY=value` lines to the `AF_UNIX` socket named
/// by `$NOTIFY_SOCKET` (a leading `@` names an abstract socket).
public struct SystemdNotifier: Sendable {
    /// The socket path, `@` for the abstract namespace as in `$NOTIFY_SOCKET`.
    public let socketPath: String
    /// Half of `$WATCHDOG_USEC` when the watchdog is on for this process
    /// (`$WATCHDOG_PID` unset or ours): how often to send `WATCHDOG=1`.
    public let watchdogInterval: Duration?

    /// The notifier the environment asks for; nil when not started by a service manager
    /// that listens (no `$NOTIFY_SOCKET`).
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> SystemdNotifier? {
        guard let path = environment["NOTIFY_SOCKET"], path.hasPrefix("/") || path.hasPrefix("@"), path.utf8.count < 108 else {
            return nil
        }
        var interval: Duration?
        if let text = environment["WATCHDOG_USEC"], let microseconds = Int64(text), microseconds > 0,
           environment["WATCHDOG_PID"].map({ $0 == String(getpid()) }) ?? true {
            interval = .microseconds(microseconds / 2)
        }
        return SystemdNotifier(socketPath: path, watchdogInterval: interval)
    }

    /// Sends `state` (e.g. `READY=1`, `WATCHDOG=1`, `STOPPING=1`, `STATUS=…`). A datagram to
    /// a local socket: it does not wait on the network, but it is a system call, so callers
    /// on an event loop hand it to the pool. Failures are returned, not thrown: the service
    /// manager going away must not stop the gateway.
    /// - Returns: nil on success, else the system's reason.
    @discardableResult
    public func send(_ state: String) -> String? {
        #if canImport(Glibc) || canImport(Musl)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 }
        let length = withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: pathBytes)
            return MemoryLayout<sa_family_t>.size + pathBytes.count
        }
        let bytes = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                sendto(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL), socketAddress, socklen_t(length))
            }
        }
        return sent == bytes.count ? nil : String(cString: strerror(errno))
        #else
        return "not supported on this system"
        #endif
    }
}
