import Foundation
import Testing
@testable import PostgateMaildir

/// The file copy under `postgate backup` and `postgate restore`, on real files.
@Suite struct DataDirectoryCopyTests {
    let root: String

    init() {
        var template = Array((NSTemporaryDirectory() + "/postgate-copy-XXXXXX").utf8CString)
        root = String(cString: mkdtemp(&template)!)
    }

    private func write(_ relative: String, _ text: String) throws {
        let path = root + "/src/" + relative
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    private func read(_ relative: String) -> String? {
        FileManager.default.contents(atPath: root + "/dst/" + relative).map { String(decoding: $0, as: UTF8.self) }
    }

    private func inode(_ path: String) -> (ino_t, nlink_t) {
        var info = stat()
        _ = lstat(path, &info)
        return (info.st_ino, info.st_nlink)
    }

    @Test func copiesTheTreeKeepsHardLinksAndSkipsWhatItIsTold() throws {
        try write("maildir/acme.test/support/new/1.a,S=5,U=1", "hello")
        try write("postgate.sqlite", "index")
        try write("spool/x", "in flight")
        try FileManager.default.createDirectory(atPath: root + "/src/queues/general/new", withIntermediateDirectories: true)
        #expect(link(root + "/src/maildir/acme.test/support/new/1.a,S=5,U=1", root + "/src/queues/general/new/1.a,S=5,U=1") == 0)
        try FileManager.default.createDirectory(atPath: root + "/dst", withIntermediateDirectories: true)

        var copy = DataDirectoryCopy(skip: { $0.hasPrefix("postgate.sqlite") || $0 == "spool" })
        #expect(try copy.countFiles(under: root + "/src") == 2)
        try copy.copy(from: root + "/src", to: root + "/dst")

        #expect(read("maildir/acme.test/support/new/1.a,S=5,U=1") == "hello")
        #expect(read("queues/general/new/1.a,S=5,U=1") == "hello")
        let (first, links) = inode(root + "/dst/maildir/acme.test/support/new/1.a,S=5,U=1")
        #expect(links == 2 && inode(root + "/dst/queues/general/new/1.a,S=5,U=1").0 == first)
        #expect(read("postgate.sqlite") == nil && read("spool/x") == nil)
        #expect(copy.files == 2 && copy.bytes == 5 && copy.vanished == 0)
    }

    @Test func aMaildirFileRenamedOrRemovedDuringTheCopyIsFoundOrCounted() throws {
        try write("m/new/1.a,S=2,U=1", "m1")
        try write("m/new/2.b,S=2,U=2", "m2")
        try write("m/tmp/3.c", "m3")
        try FileManager.default.createDirectory(atPath: root + "/src/m/cur", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/dst", withIntermediateDirectories: true)
        let source = root + "/src"
        // `cur/` is copied before `new/`: when the copy reaches each file, what a running
        // server does at that moment happens first (a flag set moves 1 to cur/; 2 is
        // expunged; 3 is moved from tmp/ into new/ after its commit).
        var copy = DataDirectoryCopy(skip: { path in
            switch path {
            case "m/new/1.a,S=2,U=1": _ = rename(source + "/m/new/1.a,S=2,U=1", source + "/m/cur/1.a,S=2,U=1:2,S")
            case "m/new/2.b,S=2,U=2": _ = unlink(source + "/m/new/2.b,S=2,U=2")
            case "m/tmp/3.c": _ = rename(source + "/m/tmp/3.c", source + "/m/new/3.c,S=2,U=3")
            default: break
            }
            return false
        })
        try copy.copy(from: source, to: root + "/dst")
        #expect(read("m/cur/1.a,S=2,U=1:2,S") == "m1")
        #expect(read("m/new/3.c,S=2,U=3") == "m3")
        #expect(read("m/new/2.b,S=2,U=2") == nil)
        #expect(copy.vanished == 1 && copy.files == 2)
    }
}
