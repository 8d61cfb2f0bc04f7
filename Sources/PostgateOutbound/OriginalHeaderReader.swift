import Foundation

/// Reads the header section of a queued message file (up to the first empty line, at
/// most 64 KiB), for the `text/rfc822-headers` part of a notification.
enum OriginalHeaderReader {
    static let maximumBytes = 64 * 1024

    static func header(ofFile path: String) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        let bytes = [UInt8]((try? handle.read(upToCount: maximumBytes)) ?? Data())
        return headerSection(bytes)
    }

    /// The bytes before the first empty line (CRLF CRLF or LF LF), or all of them.
    static func headerSection(_ bytes: [UInt8]) -> [UInt8] {
        var index = 0
        while index < bytes.count {
            guard let newline = bytes[index...].firstIndex(of: 10) else { break }
            let next = newline + 1
            if next < bytes.count, bytes[next] == 10 { return Array(bytes[..<next]) }
            if next + 1 < bytes.count, bytes[next] == 13, bytes[next + 1] == 10 { return Array(bytes[..<next]) }
            index = next
        }
        return bytes
    }
}
