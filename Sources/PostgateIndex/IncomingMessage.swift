import CFileSync
import PostgateMaildir

/// A message being received, streamed to a file in `DATA/spool/`.
///
/// The SMTP layer writes the data as it arrives (bounded memory: at most `bufferCapacity`
/// is buffered here), then hands the message to `MailStore.deliver(_:to:envelope:)`, or calls
/// `abort()` if the transaction fails. A message dropped without either is aborted.
///
/// Not `Sendable`: one caller at a time owns it, although it may move between threads.
public final class IncomingMessage {
    package enum State: String {
        case open
        case sealed
        case delivered
        case aborted
    }

    /// The Maildir unique name, also the spool file's name.
    public let uniqueName: String
    /// Path of the spool file.
    package let spoolPath: String
    /// Bytes written so far, buffered ones included.
    public private(set) var size = 0
    private(set) var state = State.open
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    /// Whether any byte has gone to the file yet (before `seal`).
    private var flushed = false
    /// The whole message, when it fitted in the buffer: sealing keeps it, so the facts read
    /// after delivery (session marker, body digest) need not read the file back.
    public private(set) var contents: [UInt8]?
    /// The whole message, kept when `startWriteback` wrote the buffer out.
    private var writtenContents: [UInt8]?

    /// Bytes buffered before they go to the spool file: a typical message (most are well
    /// under this) is written with one `write(2)` and never read back.
    package static let bufferCapacity = 256 * 1024

    /// A message to be received into the new, empty file `spoolDirectory/uniqueName`, open
    /// for writing as `descriptor`; the message owns the descriptor from now on.
    package init(uniqueName: String, spoolDirectory: String, descriptor: Int32) {
        self.uniqueName = uniqueName
        self.spoolPath = spoolDirectory + "/" + uniqueName
        self.descriptor = descriptor
    }

    deinit {
        if state == .open || state == .sealed { abort() }
    }

    /// Appends `bytes` to the message.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        guard state == .open else { throw .messageNotWritable(state: state.rawValue) }
        writtenContents = nil  // no longer the whole message
        if buffer.count + bytes.count > Self.bufferCapacity {
            try flushBuffer()
        }
        if bytes.count >= Self.bufferCapacity {
            try FileSystem.writeAll(descriptor, bytes, path: spoolPath)
            flushed = true
        } else {
            buffer.append(contentsOf: bytes)
        }
        size += bytes.count
    }

    /// Appends `bytes` to the message.
    public func write(_ bytes: some Collection<UInt8>) throws(StoreError) {
        try Array(bytes).withUnsafeBytes { raw in
            Result { () throws(StoreError) in try write(raw) }
        }.get()
    }

    /// Once the whole message is in, for one the journal will not take (`DeliveryJournal`):
    /// writes what is buffered and starts the device writing it (`sync_file_range(2)`), so
    /// that the flush before the index commit, started once routing has named the Maildirs,
    /// finds the data written or on its way. The content stays in memory for the facts
    /// read at delivery.
    public func startWriteback() throws(StoreError) {
        guard state == .open, flushed || buffer.count > DeliveryJournal.contentLimit else { return }
        if !flushed { writtenContents = buffer }
        try flushBuffer()
        _ = postgate_start_writeback(descriptor)
    }

    /// The first `limit` bytes of the message (what filters and policy look at): from the
    /// buffer while the whole message is in it, so it stays whole in memory (and can be
    /// journalled, `DeliveryJournal`); else from the file, what is buffered written out
    /// first. Does not change what is delivered.
    public func prefix(_ limit: Int) throws(StoreError) -> [UInt8] {
        guard state == .open else { throw .messageNotWritable(state: state.rawValue) }
        if !flushed { return Array(buffer.prefix(limit)) }
        if let writtenContents { return Array(writtenContents.prefix(limit)) }
        try flushBuffer()
        return try FileSystem.read(spoolPath, limit: limit)
    }

    /// Replaces the first `length` bytes of the message (at most what was written) with
    /// `bytes`: the header fields that can only be decided once the whole message is in
    /// (Authentication-Results, RFC 8601). The spool file is rewritten once, read back in
    /// 64 KiB pieces, so memory stays bounded.
    public func replacePrefix(_ length: Int, with bytes: [UInt8]) throws(StoreError) {
        guard state == .open else { throw .messageNotWritable(state: state.rawValue) }
        let length = min(length, size)
        writtenContents = nil
        try flushBuffer()
        let rewritten = spoolPath + ".insert"
        let fd = try FileSystem.createFile(rewritten)
        do {
            try FileSystem.writeAll(fd, bytes, path: rewritten)
            try FileSystem.appendContents(of: spoolPath, from: length, to: fd, path: rewritten)
            try FileSystem.rename(rewritten, spoolPath)
        } catch {
            FileSystem.close(fd)
            try? FileSystem.unlink(rewritten)
            throw error
        }
        FileSystem.close(descriptor)
        descriptor = fd
        size += bytes.count - length
    }

    /// Closes and removes the spool file; the message is dropped. Safe to call twice.
    public func abort() {
        if state == .open { FileSystem.close(descriptor) }
        if state == .open || state == .sealed { try? FileSystem.unlink(spoolPath) }
        if state != .delivered { state = .aborted }
    }

    /// Step 2 of delivery, after its names were linked into `directories`: writes what is
    /// buffered, decides how the file and those names become durable (`DeliveryJournal`:
    /// journalled if the whole message is in memory, else a flush started now, one
    /// `syncfs` where it can) and closes the spool file. The index commit relies on the result.
    package func seal(syncing directories: [String], with journal: DeliveryJournal) throws(StoreError) -> MessageDurability {
        guard state == .open else { throw .messageNotWritable(state: state.rawValue) }
        let whole = flushed ? nil : buffer
        try flushBuffer()
        let pending = journal.durability(of: descriptor, path: spoolPath, directories: directories, content: whole)
        FileSystem.close(descriptor)
        contents = whole ?? writtenContents
        writtenContents = nil
        state = .sealed
        return pending
    }

    /// Step 5 of delivery: the Maildirs hold the message; the spool name goes.
    package func markDelivered() {
        try? FileSystem.unlink(spoolPath)
        state = .delivered
    }

    private func flushBuffer() throws(StoreError) {
        guard !buffer.isEmpty else { return }
        try FileSystem.writeAll(descriptor, buffer, path: spoolPath)
        buffer.removeAll(keepingCapacity: true)
        flushed = true
    }
}

@available(*, unavailable)
extension IncomingMessage: Sendable {}
