import Foundation
import Testing
@testable import PostgateMaildir

/// `FileSystem.contents(of:)`: every name in a folder, whatever its length, read from the
/// directory records as they are (names of 1 to 255 bytes, UTF-8 among them), without "."
/// and "..".
@Suite struct DirectoryListingTests {
    @Test func listsEveryNameOfEveryLength() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("listing-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var expected: Set<String> = []
        // Many records of every length, so that readdir's buffers end on names of all sizes.
        for copy in 0..<12 {
            for length in 1...255 {
                let prefix = "\(copy)-"
                let name = prefix + String(repeating: "n", count: max(0, length - prefix.utf8.count))
                guard name.utf8.count <= 255, expected.insert(name).inserted else { continue }
                #expect(FileManager.default.createFile(atPath: folder + "/" + name, contents: nil))
            }
        }
        let accented = "Grüße-Köln.eml"
        #expect(FileManager.default.createFile(atPath: folder + "/" + accented, contents: nil))
        expected.insert(accented)
        let listed = try FileSystem.contents(of: folder)
        #expect(listed.count == expected.count)
        #expect(Set(listed) == expected)
    }
}
