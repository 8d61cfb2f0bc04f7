import Foundation
import PostgateMaildir

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `DATA/postgate.pid`: which process serves a data directory, and the configuration file
/// it reads again on SIGHUP, so that `postgate reload` can check that file and signal it.
///
/// `postgate serve` writes it once every listener is bound and removes it when it stops.
/// A file left by a killed server names a process that is gone (or is not `postgate
/// serve`): `isRunning` tells, so a stale file never gets a signal sent to a stranger.
public struct ServerProcessFile: Sendable, Equatable {
    public static let name = DataDirectory.serverProcessFile

    public var pid: Int32
    /// The absolute path of the configuration file; nil when `serve` runs on the embedded
    /// default.
    public var configFile: String?

    public init(pid: Int32, configFile: String?) {
        self.pid = pid
        self.configFile = configFile
    }

    public static func path(dataDirectory: String) -> String {
        dataDirectory + "/" + name
    }

    /// The file's text: the process id on the first line (as every pid file), the
    /// configuration file on the second.
    var text: String {
        "\(pid)\n" + (configFile.map { $0 + "\n" } ?? "")
    }

    /// Writes the file whole (a temporary file renamed over it). Blocking.
    public func write(dataDirectory: String) throws {
        let path = Self.path(dataDirectory: dataDirectory)
        let temporary = path + ".\(pid).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o644]) else {
            throw ConfigurationError("cannot write \(temporary)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw ConfigurationError("cannot write \(path): \(reason)")
        }
    }

    /// Removes the file if it still names this process. Blocking.
    public func remove(dataDirectory: String) {
        let path = Self.path(dataDirectory: dataDirectory)
        guard (try? Self.read(dataDirectory: dataDirectory))?.pid == pid else { return }
        unlink(path)
    }

    /// The file of `dataDirectory`; nil when there is none. Blocking.
    public static func read(dataDirectory: String) throws -> ServerProcessFile? {
        let path = Self.path(dataDirectory: dataDirectory)
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) { throw ConfigurationError("cannot read \(path)") }
            return nil
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    static func parse(_ text: String, path: String) throws -> ServerProcessFile {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let first = lines.first, let pid = Int32(first), pid > 0 else {
            throw ConfigurationError("\(path) does not start with a process id")
        }
        let config = lines.count > 1 && !lines[1].isEmpty ? String(lines[1]) : nil
        return ServerProcessFile(pid: pid, configFile: config)
    }

    /// Whether the process is running and is `postgate serve` (its command line, from
    /// /proc). Blocking.
    public var isRunning: Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard let program = arguments.first else { return false }
        return program.split(separator: "/").last == "postgate" && arguments.dropFirst().contains("serve")
    }
}
