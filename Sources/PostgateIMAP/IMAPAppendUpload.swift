import NIOCore
import PostgateMaildir

/// The message of an APPEND being received (RFC 9051 section 6.3.12), streamed into a
/// spool file of the store (`IMAPMailStore.beginMessage`) piece by piece as it arrives, as
/// SMTP DATA is, so that a session holds a bounded amount of it whatever its size.
///
/// Used only inside thread-pool work items that run one after another: the handler starts
/// each write once the one before has finished, and the command once the last write has.
/// That order is what makes the unchecked `Sendable` sound.
final class IMAPAppendUpload<Store: IMAPMailStore>: @unchecked Sendable {
    private let store: Store
    private var message: Store.Message?
    /// What failed while the message was written; the rest of it is dropped.
    private var failure: StoreError?

    init(store: Store) {
        self.store = store
    }

    /// Appends `bytes` to the spool file, which the first piece creates.
    func write(_ bytes: ByteBuffer) {
        guard failure == nil, bytes.readableBytes > 0 else { return }
        do throws(StoreError) {
            let message: Store.Message
            if let open = self.message {
                message = open
            } else {
                message = try store.beginMessage()
                self.message = message
            }
            try bytes.withUnsafeReadableBytes { raw in Result { () throws(StoreError) in try message.write(raw) } }.get()
        } catch {
            failure = error
            message?.abort()
            message = nil
        }
    }

    /// The whole message, now the caller's to store or abort; nil if it is empty.
    /// - Throws: what failed while it was written (nothing is left of it then).
    func take() throws(StoreError) -> Store.Message? {
        if let failure { throw failure }
        defer { message = nil }
        return message
    }

    /// Drops what was received: the spool file goes. Safe to call at any point.
    func abort() {
        message?.abort()
        message = nil
    }
}
