/// The resource record types Postgate asks for (RFC 1035 section 3.2.2, RFC 3596 for AAAA).
public enum DNSRecordType: UInt16, Sendable, CaseIterable {
    case a = 1
    case cname = 5
    case mx = 15
    case txt = 16
    case aaaa = 28
}

/// One answer record, decoded for the types above.
public enum DNSRecord: Sendable, Equatable {
    /// A TXT record: its character-strings, in order (RFC 1035 section 3.3.14). DKIM joins
    /// them without separators (RFC 6376 section 3.6.2.2).
    case txt([[UInt8]])
    case a([UInt8])
    case aaaa([UInt8])
    case mx(preference: UInt16, exchange: String)
    case cname(String)

    /// A TXT record's strings joined, as text (invalid UTF-8 replaced).
    public var joinedText: String? {
        guard case .txt(let strings) = self else { return nil }
        return String(decoding: strings.joined(), as: UTF8.self)
    }
}

/// What a DNS question got: either records, or one of the two definite negatives
/// (RFC 2308). A server failure or a timeout is an error (`DNSError`), not an answer, so
/// callers cannot confuse "no record" with "could not ask".
public enum DNSAnswer: Sendable, Equatable {
    case records([DNSRecord])
    /// NXDOMAIN: the name does not exist.
    case nameDoesNotExist
    /// NOERROR without records of the asked type.
    case noData

    /// The records, or none for the negatives.
    public var records: [DNSRecord] {
        if case .records(let records) = self { return records }
        return []
    }
}
