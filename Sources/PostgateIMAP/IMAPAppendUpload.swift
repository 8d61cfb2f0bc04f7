import NIOCore
import PostgateMaildir

/// The messages of an APPEND being received (RFC 9051 section 6.3.12; several with
/// MULTIAPPEND, RFC 3502), each streamed into a spool file of the store
/// (`IMAPMailStore.beginMessage`) piece by piece as it arrives, as SMTP DATA is, so that a
/// session holds a bounded amount of it whatever its size.
///
/// Used only inside thread-pool work items that run one after another: the handler starts
/// each write once the one before has finished, and the command once the last write has.
/// That order is what makes the unchecked `Sendable` sound.
final class IMAPAppendUpload<Store: IMAPMailStore>: @unchecked Sendable {
    private let store: Store
    private var message: Store.Message?
    /// The messages before the one being received, in order; nil for an empty one.
    private var received: [Store.Message?] = []
    /// What failed while a message was written; everything is dropped.
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
            abort()
        }
    }

    /// The message being received is whole; the next octets begin the next message (MULTIAPPEND).
    func startNext() {
        guard failure == nil else { return }
        received.append(message)
        message = nil
    }

    /// The whole messages in order (nil for an empty one), now the caller's to store or abort.
    /// - Throws: what failed while one was written (nothing is left of any then).
    func take() throws(StoreError) -> [Store.Message?] {
        if let failure { throw failure }
        defer {
            received = []
            message = nil
        }
        return received + [message]
    }

    /// Drops what was received: the spool files go. Safe to call at any point.
    func abort() {
        message?.abort()
        message = nil
        for message in received { message?.abort() }
        received = []
    }
}
