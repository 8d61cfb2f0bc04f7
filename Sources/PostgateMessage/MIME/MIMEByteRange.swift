/// A span of bytes in the original message: where a part's header or body starts and how long it is.
///
/// IMAP (RFC 3501 section 6.4.5, BODY[section]) serves parts by these offsets without
/// re-encoding them, so they are exact positions in the bytes as stored.
public struct MIMEByteRange: Sendable, Equatable, Hashable {
    public var offset: Int
    public var length: Int

    public init(offset: Int, length: Int) {
        self.offset = offset
        self.length = length
    }

    /// One past the last byte.
    public var end: Int { offset + length }
}
