import Foundation
import Testing
@testable import PostgateStore
@testable import PostgateMaildir
@testable import PostgateIndex

/// `SpoolFileReserve`: empty spool files made ahead of need, handed out once each, and
/// removed when released.
@Suite struct SpoolFileReserveTests {
    let fixture: StoreFixture
    var spool: String { fixture.dataPath + "/spool" }

    init() throws {
        fixture = try StoreFixture()
    }

    func spoolNames() throws -> Set<String> {
        Set(try FileSystem.contents(of: spool))
    }

    /// Polls `condition` for up to five seconds.
    func eventually(_ condition: () -> Bool) -> Bool {
        for _ in 0..<500 {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    @Test func disabledReserveCreatesEachFileOnDemand() throws {
        let reserve = SpoolFileReserve(directory: spool, names: MaildirUniqueName())
        let file = try reserve.take()
        defer { FileSystem.close(file.descriptor) }
        usleep(50_000)
        #expect(reserve.readyCount == 0)
        #expect(try spoolNames() == [file.name])
    }

    @Test func enabledReserveHandsOutFilesMadeBeforeAndRefills() throws {
        let reserve = SpoolFileReserve(directory: spool, names: MaildirUniqueName())
        reserve.enable()
        #expect(eventually { reserve.readyCount == SpoolFileReserve.capacity })
        let before = try spoolNames()
        #expect(before.count == SpoolFileReserve.capacity)
        let file = try reserve.take()
        defer { FileSystem.close(file.descriptor) }
        #expect(before.contains(file.name))
        // The file is empty and open for writing.
        #expect(write(file.descriptor, "x", 1) == 1)
        #expect(try FileSystem.read(spool + "/" + file.name, limit: 10) == [UInt8(ascii: "x")])
        #expect(eventually { reserve.readyCount == SpoolFileReserve.capacity })
        #expect(try spoolNames().count == SpoolFileReserve.capacity + 1)
    }

    @Test func everyFileIsHandedOutOnce() throws {
        let reserve = SpoolFileReserve(directory: spool, names: MaildirUniqueName())
        reserve.enable()
        var names: Set<String> = []
        for _ in 0..<(3 * SpoolFileReserve.capacity) {
            let file = try reserve.take()
            FileSystem.close(file.descriptor)
            #expect(names.insert(file.name).inserted)
        }
    }

    @Test func releaseRemovesTheUnusedFiles() throws {
        let reserve = SpoolFileReserve(directory: spool, names: MaildirUniqueName())
        reserve.enable()
        #expect(eventually { reserve.readyCount == SpoolFileReserve.capacity })
        let taken = try reserve.take()
        defer { FileSystem.close(taken.descriptor) }
        reserve.release()
        // A refill that was under way stops and removes what it made.
        #expect(eventually { (try? spoolNames()) == [taken.name] })
        #expect(reserve.readyCount == 0)
    }

    @Test func serveDeliversFromReservedFiles() throws {
        try fixture.host("acme.test", "support")
        let store = fixture.store
        store.reserveSpoolFiles()
        #expect(eventually { store.spoolReserve.readyCount == SpoolFileReserve.capacity })
        let reserved = try spoolNames()
        let message = try store.beginMessage()
        #expect(reserved.contains(message.uniqueName))
        try message.write(Array("Subject: hi\r\n\r\nbody\r\n".utf8))
        let stored = try store.deliver(message, to: [try fixture.target("support@acme.test")], envelope: DeliveryEnvelope(
            mailFrom: "", rcptTo: [:], header: .parse(Array("Subject: hi\r\n\r\n".utf8))))
        #expect(stored.count == 1 && stored[0].filename.hasPrefix(message.uniqueName + ","))
        store.finishDeliveries()
        #expect(eventually { (try? spoolNames())?.isEmpty == true })
    }
}
