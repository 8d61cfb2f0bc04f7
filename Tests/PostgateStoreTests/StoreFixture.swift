import Foundation
import GRDB
import PostgateMessage
@testable import PostgateStore
@testable import PostgateIndex
@testable import PostgateDirectory

/// A store in a fresh temporary data directory, removed when the fixture goes.
/// `@unchecked Sendable`: only `reopen()` mutates it, never while other threads use it.
final class StoreFixture: @unchecked Sendable {
    let root: String
    let dataPath: String
    private(set) var store: MailStore

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/postgate-store-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw StoreFixtureError.noTemporaryDirectory }
        root = String(cString: made)
        dataPath = root + "/data"
        store = try MailStore.open(directory: dataPath)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Drops the store and opens the data directory again, as a restart would.
    func reopen() throws {
        store = try MailStore.open(directory: dataPath)
    }

    /// A hosted domain with hosted addresses (each local part in `locals`).
    @discardableResult
    func host(_ domain: String, _ locals: String...) throws -> [AddressRecord] {
        try store.addDomain(DomainName(domain))
        return try locals.map { try store.addAddress(EmailAddress("\($0)@\(domain)")) }
    }

    func target(_ address: String) throws -> MailboxTarget {
        guard case .accept(let target) = try store.resolveRecipient(EmailAddress(address)) else {
            throw StoreFixtureError.notAccepted(address)
        }
        return target
    }

    /// Receives `bytes` in chunks of `chunk` bytes and delivers them to `recipients`, every
    /// copy with the inbound policy's label `policy` (nil: an ordinary message).
    @discardableResult
    func deliver(_ bytes: [UInt8], to recipients: [String], chunk: Int = 1000, policy: String? = nil,
                 queueID: String? = nil) throws -> [StoredMessage] {
        let message = try store.beginMessage()
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + chunk, bytes.count)
            try bytes[offset..<end].withUnsafeBytes { try message.write($0) }
            offset = end
        }
        let targets = try recipients.map(target)
        let envelope = DeliveryEnvelope(
            mailFrom: "sender@example.org",
            rcptTo: Dictionary(zip(targets, recipients), uniquingKeysWith: { first, _ in first }),
            internalDate: Date(timeIntervalSince1970: 1_700_000_000),
            header: MessageHeader.parse(bytes),
            policy: policy.map { label in Dictionary(targets.map { ($0, label) }, uniquingKeysWith: { first, _ in first }) } ?? [:],
            queueID: queueID)
        return try store.deliver(message, to: targets, envelope: envelope)
    }

    func path(_ relative: String) -> String { dataPath + "/" + relative }

    func names(_ relative: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path(relative))) ?? []).sorted()
    }

    func contents(_ relative: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path(relative)).map { Array($0) }
    }

    func fileStatus(_ relative: String) -> stat? {
        var info = stat()
        return stat(path(relative), &info) == 0 ? info : nil
    }

    /// Runs SQL on the index file directly, as the Python end-to-end tests do.
    func sql<T>(_ body: (Database) throws -> T) throws -> T {
        let queue = try DatabaseQueue(path: dataPath + "/postgate.sqlite")
        return try queue.write(body)
    }
}

enum StoreFixtureError: Error {
    case noTemporaryDirectory
    case notAccepted(String)
}

/// A small RFC 5322 message with CRLF line endings; a new Message-ID each time unless
/// `messageID` is given (the store keeps one copy of a message per mailbox).
func sampleMessage(
    subject: String = "Help", body: String = "Hello,\r\nmy order is late.\r\n",
    messageID: String = "<\(UUID().uuidString)@example.org>"
) -> [UInt8] {
    Array("""
    From: Customer <customer@example.org>\r
    To: support@acme.test\r
    Cc: other@example.org\r
    Subject: \(subject)\r
    Date: Tue, 14 Nov 2023 22:13:20 +0000\r
    Message-ID: \(messageID)\r
    In-Reply-To: <m0@example.org>\r
    References: <a@example.org>\r
     <m0@example.org>\r
    \r
    \(body)
    """.utf8)
}

/// Default settings with a display name.
func named(_ displayName: String) -> ChannelSettings {
    var settings = ChannelSettings()
    settings.displayName = displayName
    return settings
}

/// Runs `body(i)` for i in 0..<n on n threads of their own, all at once.
func onThreads(_ n: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for i in 0..<n {
        group.enter()
        Thread { body(i); group.leave() }.start()
    }
    group.wait()
}
