import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The secret that signs Postgate's Message-ID tokens (`SessionMessageID`):
/// `DATA/session.key`, 32 random bytes made on first use with mode 0600 and fsynced.
/// Losing it only means replies to older messages are matched by the other layers.
package enum SessionKeyFile {
    package static let name = "session.key"
    package static let length = 32

    package static func loadOrCreate(in data: DataDirectory) throws(StoreError) -> [UInt8] {
        let path = data.absolute(name)
        if let existing = FileManager.default.contents(atPath: path), existing.count >= length {
            return [UInt8](existing)
        }
        var generator = SystemRandomNumberGenerator()
        let key = (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        do {
            try FileSystem.writeDurably(key, to: path, directory: data.root)
            _ = chmod(path, 0o600)
        } catch {
            throw .dataDirectoryNotWritable(path: data.root, reason: "cannot write \(name): \(error.reason)")
        }
        // Another process may have won the race: use what is on disk.
        return FileManager.default.contents(atPath: path).map { [UInt8]($0) } ?? key
    }
}
