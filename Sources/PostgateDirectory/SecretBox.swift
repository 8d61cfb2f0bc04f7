import Crypto
import Foundation
import PostgateMaildir

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Seals the secrets of mailbox connectors (passwords, OAuth client secrets and refresh
/// tokens) with AES-256-GCM under the data directory's secret key, `DATA/secret.key`.
///
/// The key file holds 32 random bytes. It is made on first need with mode 0600 (`O_CREAT |
/// O_EXCL` under a temporary name, written, fsynced, then linked into place, so two
/// processes racing to make it agree on one key), and the directory is fsynced. A key file
/// that group or others may read is refused: whoever can read it can read every secret.
///
/// Losing the key file loses the secrets sealed with it (they must be set again); copying a
/// data directory without it leaves the connectors unable to log in.
public struct SecretBox: Sendable {
    /// The key file's name in the data directory.
    public static let defaultFileName = "secret.key"
    public static let keyLength = 32
    /// What a sealed secret starts with; the rest is the base64 of nonce, ciphertext and tag.
    public static let sealedPrefix = "aes256gcm:"

    /// The key file this box was loaded from.
    public let keyPath: String
    private let key: SymmetricKey

    /// Loads the key at `keyPath`, making it first when it is missing and `create` is true.
    /// - Parameter directory: the directory holding the key file, fsynced after it is made.
    /// - Throws: `.secretKey` when the file is missing (and not to be made), unreadable, of
    ///   the wrong size, or readable by group or others.
    public static func load(keyPath: String, create: Bool) throws(StoreError) -> SecretBox {
        if let bytes = try read(keyPath) {
            return SecretBox(keyPath: keyPath, key: SymmetricKey(data: bytes))
        }
        guard create else {
            throw .secretKey("the secret key file \(keyPath) is missing; the stored secrets cannot be opened without it (set them again with `postgate connector set`)")
        }
        try make(keyPath)
        guard let bytes = try read(keyPath) else { throw .posix("open", keyPath, errno: ENOENT) }
        return SecretBox(keyPath: keyPath, key: SymmetricKey(data: bytes))
    }

    /// A box over a key given directly (tests).
    package init(keyPath: String, key: SymmetricKey) {
        self.keyPath = keyPath
        self.key = key
    }

    /// Encrypts `secret` with a fresh random nonce.
    public func seal(_ secret: String) throws(StoreError) -> SealedSecret {
        do {
            let box = try AES.GCM.seal(Data(secret.utf8), using: key)
            guard let combined = box.combined else { throw CryptoKitError.incorrectParameterSize }
            return SealedSecret(sealed: Self.sealedPrefix + combined.base64EncodedString())
        } catch {
            throw .secretKey("cannot seal the secret: \(error)")
        }
    }

    /// Decrypts `sealed`.
    /// - Throws: `.secretKey` when it was sealed with another key (or altered), or is not a
    ///   sealed secret at all.
    public func open(_ sealed: SealedSecret) throws(StoreError) -> String {
        guard sealed.sealed.hasPrefix(Self.sealedPrefix),
              let combined = Data(base64Encoded: String(sealed.sealed.dropFirst(Self.sealedPrefix.count))),
              let box = try? AES.GCM.SealedBox(combined: combined)
        else {
            throw .secretKey("cannot decrypt the stored secret: it is not in the \(Self.sealedPrefix) form")
        }
        let plain: Data
        do { plain = try AES.GCM.open(box, using: key) } catch {
            throw .secretKey("cannot decrypt the stored secret: the secret key file \(keyPath) is not the one it was sealed with")
        }
        guard let text = String(data: plain, encoding: .utf8) else {
            throw .secretKey("cannot decrypt the stored secret: it is not UTF-8 text")
        }
        return text
    }

    // MARK: - The key file

    /// The key's bytes, nil when there is no file.
    private static func read(_ path: String) throws(StoreError) -> [UInt8]? {
        let fd = systemOpen(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0, errno == ENOENT { return nil }
        guard fd >= 0 else { throw .secretKey("cannot open the secret key file \(path): \(String(cString: strerror(errno)))") }
        defer { FileSystem.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .posix("stat", path) }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw .secretKey("the secret key file \(path) may be read by group or others (mode \(String(mode, radix: 8))); run chmod 600 \(path)")
        }
        guard info.st_size == off_t(keyLength) else {
            throw .secretKey("the secret key file \(path) is \(info.st_size) bytes, not a \(keyLength)-byte key")
        }
        var bytes = [UInt8](repeating: 0, count: keyLength)
        let count = bytes.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress!, keyLength) }
        guard count == keyLength else { throw .posix("read", path) }
        return bytes
    }

    /// Makes the key file: a temporary file with the new key, linked to `path` unless
    /// another process made it first (then theirs is kept).
    private static func make(_ path: String) throws(StoreError) {
        var generator = SystemRandomNumberGenerator()
        let key = (0..<keyLength).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let temporary = path + ".\(getpid()).\(UInt32.random(in: .min ... .max, using: &generator)).tmp"
        let fd = try FileSystem.createFile(temporary, mode: 0o600)
        do throws(StoreError) {
            guard fchmod(fd, 0o600) == 0 else { throw StoreError.posix("chmod", temporary) }
            try FileSystem.writeAll(fd, key, path: temporary)
            try FileSystem.sync(fd, path: temporary)
        } catch {
            FileSystem.close(fd)
            try? FileSystem.unlink(temporary)
            throw error
        }
        FileSystem.close(fd)
        let linked = link(temporary, path) == 0 || errno == EEXIST
        let failure = errno
        try FileSystem.unlink(temporary)
        guard linked else { throw .posix("create", path, errno: failure) }
        try FileSystem.syncDirectory(directory(of: path))
    }

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

private func systemOpen(_ path: String, _ flags: Int32) -> Int32 {
    open(path, flags)
}

private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}
