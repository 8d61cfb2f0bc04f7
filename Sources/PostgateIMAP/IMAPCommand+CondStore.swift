extension IMAPCommand {
    /// A CONDSTORE enabling command (RFC 7162 section 3.1): from it on, the session's
    /// FETCH responses for flag changes carry MODSEQ.
    var enablesCondStore: Bool {
        switch self {
        // Enabling QRESYNC enables CONDSTORE too (RFC 7162 section 3.2.3).
        case .enable(let capabilities): capabilities.contains("CONDSTORE") || capabilities.contains("QRESYNC")
        case .select(_, _, let condStore, let qresync): condStore || qresync != nil
        case .status(_, let items): items.contains(.highestModSeq)
        case .fetch(_, let attributes, _, let changedSince, _): changedSince != nil || attributes.contains(.modSeq)
        case .store(_, _, _, _, _, let unchangedSince): unchangedSince != nil
        case .search(let key, _, _): key.usesModSeq
        default: false
        }
    }
}

extension IMAPSearchKey {
    /// Whether the key (or one inside it) is MODSEQ (RFC 7162 section 3.1.5).
    var usesModSeq: Bool {
        switch self {
        case .modSeq: true
        case .and(let keys): keys.contains { $0.usesModSeq }
        case .or(let a, let b): a.usesModSeq || b.usesModSeq
        case .not(let key): key.usesModSeq
        default: false
        }
    }
}
