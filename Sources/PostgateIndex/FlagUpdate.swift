/// What a flag change did (STORE, RFC 9051 section 6.4.6; RFC 7162 section 3.1.3).
public struct FlagUpdate: Sendable {
    /// Each message in the set that was not left alone, before and after (equal flags if unchanged).
    public var changes: [(before: MessageSummary, after: MessageSummary)]
    /// The UIDs left alone because their mod-sequence is above UNCHANGEDSINCE (`MODIFIED`).
    public var modified: [UInt32]
}
