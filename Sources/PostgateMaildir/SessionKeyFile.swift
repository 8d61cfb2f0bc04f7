import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The secret that signs Postgate's Message-ID tokens (`SessionMessageID`):
/// `DATA/session.key`, 32 random bytes made with mode 0600 and fsynced when the data
/// directory is first opened. A reply to a message sent before the key was lost carries a
/// token no new key recognises, so the store refuses to make a new one over an index that
/// holds messages (`MailStore.open`) unless told to (`postgate check --repair`).
package enum SessionKeyFile {
    package static let name = "session.key"
    package static let length = 32

    /// The key on disk; nil when the file is missing or shorter than a key.
    package static func load(in data: DataDirectory) -> [UInt8]? {
        guard let existing = FileManager.default.contents(atPath: data.absolute(name)), existing.count >= length else { return nil }
        return [UInt8](existing)
    }

    /// Writes a new random key (replacing a short file) and returns the key on disk.
    package static func create(in data: DataDirectory) throws(StoreError) -> [UInt8] {
        let path = data.absolute(name)
        var generator = SystemRandomNumberGenerator()
        let key = (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        do {
            try FileSystem.writeDurably(key, to: path, directory: data.root)
            _ = chmod(path, 0o600)
        } catch {
            throw .dataDirectoryNotWritable(path: data.root, reason: "cannot write \(name): \(error.reason)")
        }
        // Another process may have won the race: use what is on disk.
        return load(in: data) ?? key
    }
}
