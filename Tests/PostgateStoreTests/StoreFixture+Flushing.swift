import Foundation
import PostgateMessage
@testable import PostgateStore
@testable import PostgateMaildir
@testable import PostgateIndex

/// Stores whose filesystem flushes a test controls (slow, failing or counted), for the
/// delivery protocol's order: `DurableSyncTests`, `DeliveryJournalTests`.
extension StoreFixture {
    /// The data directory of `storeFlushing`.
    var flushingPath: String { dataPath + "-flushing" }

    /// A store in a fresh data directory hosting support@acme.test, whose filesystem
    /// flushes go through `flush`.
    func storeFlushing(with flush: @escaping @Sendable (Int32) -> Int32?) throws -> MailStore {
        let store = try MailStore.open(directory: flushingPath, flush: flush)
        try store.addDomain(DomainName("acme.test"))
        try store.addAddress(EmailAddress("support@acme.test"))
        return store
    }
}

/// Delivers `bytes` to support@acme.test of `store`.
@discardableResult
func deliverSample(_ store: MailStore, _ bytes: [UInt8] = sampleMessage()) throws -> [StoredMessage] {
    guard case .accept(let target) = try store.resolveRecipient(EmailAddress("support@acme.test")) else {
        throw StoreFixtureError.notAccepted("support@acme.test")
    }
    let message = try store.beginMessage()
    try message.write(bytes)
    return try store.deliver(message, to: [target], envelope: DeliveryEnvelope(mailFrom: "", rcptTo: [:], header: .parse(bytes)))
}

/// support@acme.test's mailbox of `store` as IMAP shows it.
func sharedMailbox(_ store: MailStore, _ path: String = "maildir/acme.test/support") throws -> VisibleMailbox {
    guard let state = try store.index.mailbox(path: path) else { throw StoreError.mailboxNotFound(path: path) }
    return VisibleMailbox(name: "Shared/support@acme.test", kind: .shared, mailboxID: state.id,
                          path: state.path, specialUse: nil, privateSeen: false)
}

/// A message too big for the delivery journal (`DeliveryJournal.contentLimit`): made
/// durable by a flush before its row commits.
func unjournalledMessage() -> [UInt8] {
    sampleMessage(body: String(repeating: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n",
                               count: DeliveryJournal.contentLimit / 64 + 1))
}
