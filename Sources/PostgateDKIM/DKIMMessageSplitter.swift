/// Separates a message streamed in chunks into its header section (kept, bounded) and its
/// body (passed on, never kept), at the first empty line (RFC 5322 section 2.1).
struct DKIMMessageSplitter {
    /// The header section without the empty line; complete once `inBody` is true.
    private(set) var header: [UInt8] = []
    private(set) var inBody = false
    /// The header section grew past `maxHeaderBytes`; the message cannot be checked.
    private(set) var headerTooLarge = false
    private let maxHeaderBytes: Int
    private var lineStart = true
    private var crAtLineStart = false

    init(maxHeaderBytes: Int) {
        self.maxHeaderBytes = maxHeaderBytes
    }

    /// Consumes `bytes`; the part that belongs to the body goes to `body`.
    mutating func feed(_ bytes: UnsafeRawBufferPointer, body: (UnsafeRawBufferPointer) -> Void) {
        guard !inBody else { return body(bytes) }
        for (index, byte) in bytes.enumerated() {
            if crAtLineStart {
                crAtLineStart = false
                if byte == 0x0A { return startBody(bytes, at: index + 1, body: body) }
                append(0x0D)
                lineStart = false
            }
            if lineStart && byte == 0x0D {
                crAtLineStart = true
                continue
            }
            if lineStart && byte == 0x0A { return startBody(bytes, at: index + 1, body: body) }
            append(byte)
            lineStart = byte == 0x0A
        }
    }

    private mutating func startBody(_ bytes: UnsafeRawBufferPointer, at start: Int, body: (UnsafeRawBufferPointer) -> Void) {
        inBody = true
        if start < bytes.count { body(UnsafeRawBufferPointer(rebasing: bytes[start...])) }
    }

    private mutating func append(_ byte: UInt8) {
        if header.count < maxHeaderBytes { header.append(byte) } else { headerTooLarge = true }
    }
}
