import PostgateMessage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The layout of a Postgate data directory.
///
/// ```
/// DATA/postgate.sqlite                       the index (SQLite, WAL)
/// DATA/spool/                                messages being received
/// DATA/maildir/<domain>/<local-part-dir>/    one Maildir per hosted address
/// ```
///
/// Mailbox paths are kept relative to `DATA`, so a data directory can be moved.
package struct DataDirectory: Sendable {
    /// The data directory as given (absolute or relative to the working directory).
    package let root: String

    package var databasePath: String { root + "/postgate.sqlite" }
    package var spoolPath: String { root + "/spool" }

    /// Creates the data directory, its spool and its Maildir root if missing.
    /// - Throws: `.dataDirectoryNotWritable` naming the directory and the system's reason.
    package static func prepare(_ path: String) throws(StoreError) -> DataDirectory {
        let root = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        let directory = DataDirectory(root: root)
        do {
            try FileSystem.makeDirectories(directory.spoolPath)
            try FileSystem.makeDirectories(directory.absolute(Self.maildirRoot))
        } catch {
            throw .dataDirectoryNotWritable(path: root, reason: error.reason)
        }
        guard access(root, W_OK) == 0 else {
            throw .dataDirectoryNotWritable(path: root, reason: String(cString: strerror(errno)))
        }
        return directory
    }

    /// The absolute (or working-directory relative) form of a path relative to `DATA`.
    package func absolute(_ relativePath: String) -> String {
        root + "/" + relativePath
    }

    package func maildir(_ relativePath: String) -> Maildir {
        Maildir(path: absolute(relativePath))
    }

    // MARK: - Mailbox paths

    package static let maildirRoot = "maildir"

    /// The running server's process file (`postgate serve` writes it, `postgate reload`
    /// reads it); it names a process, so a backup leaves it out.
    package static let serverProcessFile = "postgate.pid"

    /// The mailbox path of a hosted address: `maildir/<domain-ascii>/<local-part-dir>`.
    package static func mailboxPath(for address: EmailAddress) -> String {
        maildirRoot + "/" + address.domain.ascii + "/" + localPartDirectory(address.localPart)
    }

    /// The canonical (lower-case) local part with every byte outside `[a-z0-9._+-]`, and a
    /// leading `.`, percent-encoded as `%XX`: never hidden, relative or containing `/`,
    /// and different local parts never share a directory.
    package static func localPartDirectory(_ localPart: String) -> String {
        var result = ""
        for (index, byte) in localPart.lowercased().utf8.enumerated() {
            if isPlain(byte) && !(index == 0 && byte == UInt8(ascii: ".")) {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                result += "%" + hexDigits(byte)
            }
        }
        return result
    }

    /// The local part a directory name of `localPartDirectory` stands for; nil if the name
    /// is not one `localPartDirectory` makes (a bad `%XX`, or bytes that are not UTF-8).
    package static func localPart(fromDirectory name: String) -> String? {
        var bytes: [UInt8] = []
        var utf8 = name.utf8.makeIterator()
        while let byte = utf8.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = utf8.next(), let low = utf8.next(),
                  let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(value)
        }
        guard let text = String(validating: bytes, as: UTF8.self), !text.isEmpty,
              localPartDirectory(text) == name else { return nil }
        return text
    }

    private static func isPlain(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "+"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    private static func hexDigits(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF".unicodeScalars)
        return String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0x0F)])
    }
}

extension StoreError {
    /// The system's reason inside an I/O error, or the whole description otherwise.
    package var reason: String {
        if case .io(_, _, let reason) = self { return reason }
        if case .insufficientStorage(_, _, let reason) = self { return reason }
        return description
    }
}
