/// The FETCH items of one message that IMAP computes from its file and keeps in the
/// index: ENVELOPE, BODYSTRUCTURE and BODY, each as the exact octets FETCH sends after the
/// item name (RFC 9051 section 7.5.2).
public struct CachedFetchItems: Sendable, Equatable {
    public var envelope: [UInt8]
    public var bodyStructure: [UInt8]
    public var body: [UInt8]

    public init(envelope: [UInt8], bodyStructure: [UInt8], body: [UInt8]) {
        self.envelope = envelope
        self.bodyStructure = bodyStructure
        self.body = body
    }
}
