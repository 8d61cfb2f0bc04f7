/// QRESYNC (RFC 7162 section 3.2): the SELECT/EXAMINE parameter, the VANISHED modifier
/// of UID FETCH, and which UIDs a session reports as vanished.
///
/// The index keeps no per-UID tombstones, only the mod-sequence of a mailbox's latest
/// expunge (`MailboxSnapshot.expungeModSeq`). So, as RFC 7162 sections 3.2.5.1 and 3.2.6
/// allow a server that does not remember expunged messages, every UID of the client's set
/// (below UIDNEXT) that no longer exists is reported once anything was expunged after the
/// client's mod-sequence, and nothing when nothing was.
public struct IMAPQResyncParameters: Sendable, Equatable {
    /// The UIDVALIDITY the client knows; the rest applies only when it still holds.
    public var uidValidity: UInt32
    /// The last mod-sequence the client knows (section 3.2.5.1).
    public var modSeq: UInt64
    /// The UIDs the client knows; nil for every UID below UIDNEXT.
    public var knownUIDs: IMAPSequenceSet?
    /// Message sequence match data (section 3.2.5.2).
    public var sequenceMatch: SequenceMatch?

    /// Sequence numbers and the UIDs the client had at them, in ascending order, as many
    /// of one as of the other (checked when parsed).
    public struct SequenceMatch: Sendable, Equatable {
        public var sequences: IMAPSequenceSet
        public var uids: IMAPSequenceSet
    }

    public init(uidValidity: UInt32, modSeq: UInt64, knownUIDs: IMAPSequenceSet? = nil, sequenceMatch: SequenceMatch? = nil) {
        self.uidValidity = uidValidity
        self.modSeq = modSeq
        self.knownUIDs = knownUIDs
        self.sequenceMatch = sequenceMatch
    }
}

extension IMAPCommandParser {
    /// SELECT and EXAMINE parameters (RFC 4466 section 2.1): `CONDSTORE` (RFC 7162 section
    /// 3.1.8) and `QRESYNC (…)` (section 3.2.5); any other is BAD.
    static func selectParameters(_ r: inout IMAPTokenReader) throws(IMAPParseError) -> (condStore: Bool, qresync: IMAPQResyncParameters?) {
        var condStore = false
        var qresync: IMAPQResyncParameters?
        _ = try r.parenthesized { (r) throws(IMAPParseError) in
            let name = try r.atom().uppercased()
            switch name {
            case "CONDSTORE": condStore = true
            case "QRESYNC":
                guard qresync == nil else { throw IMAPParseError("QRESYNC given twice") }
                try r.space()
                qresync = try qresyncParameter(&r)
            default: throw IMAPParseError("unknown SELECT parameter \(name)")
            }
        }
        return (condStore, qresync)
    }

    /// `(uidvalidity mod-sequence-value [known-uids] [seq-match-data])` (RFC 7162 section 7).
    private static func qresyncParameter(_ r: inout IMAPTokenReader) throws(IMAPParseError) -> IMAPQResyncParameters {
        try r.open()
        let uidValidity = try r.number()
        guard uidValidity > 0 else { throw IMAPParseError("UIDVALIDITY must not be 0") }
        try r.space()
        var parameters = IMAPQResyncParameters(uidValidity: uidValidity, modSeq: try r.modSequence())
        if r.take(" "), r.peek() != UInt8(ascii: "(") {
            parameters.knownUIDs = try starless(&r, "known UIDs")
            guard r.take(" ") else {
                try r.close()
                return parameters
            }
        }
        if r.peek() == UInt8(ascii: "(") {
            // seq-match-data = "(" known-sequence-set SP known-uid-set ")"
            try r.open()
            let sequences = try starless(&r, "known sequence numbers")
            try r.space()
            let uids = try starless(&r, "known UIDs")
            try r.close()
            guard sequences.valueCount == uids.valueCount else {
                throw IMAPParseError("the known sequence numbers and UIDs differ in number")
            }
            parameters.sequenceMatch = .init(sequences: sequences, uids: uids)
        }
        try r.close()
        return parameters
    }

    /// A sequence set without `*`, which the QRESYNC parameter does not allow (RFC 7162 section 7).
    private static func starless(_ r: inout IMAPTokenReader, _ what: String) throws(IMAPParseError) -> IMAPSequenceSet {
        let set = try r.sequenceSet()
        guard !set.hasStar else { throw IMAPParseError("\(what) must not contain *") }
        return set
    }

    /// FETCH modifiers (RFC 4466 section 2.4): `CHANGEDSINCE n` (RFC 7162 section 3.1.4.1)
    /// and `VANISHED` (section 3.2.6), which only UID FETCH takes, and only with CHANGEDSINCE.
    static func fetchModifiers(_ r: inout IMAPTokenReader, uid: Bool) throws(IMAPParseError) -> (changedSince: UInt64?, vanished: Bool) {
        var changedSince: UInt64?
        var vanished = false
        _ = try r.parenthesized { (r) throws(IMAPParseError) in
            let name = try r.atom().uppercased()
            switch name {
            case "CHANGEDSINCE" where changedSince == nil:
                try r.space()
                changedSince = try r.modSequence()
            case "VANISHED" where !vanished: vanished = true
            case "CHANGEDSINCE", "VANISHED": throw IMAPParseError("\(name) given twice")
            default: throw IMAPParseError("unknown FETCH modifier \(name)")
            }
        }
        if vanished {
            guard uid else { throw IMAPParseError("VANISHED is a UID FETCH modifier") }
            guard changedSince != nil else { throw IMAPParseError("VANISHED needs CHANGEDSINCE") }
        }
        return (changedSince, vanished)
    }
}

extension IMAPSequenceSet {
    /// How many values a set without `*` names.
    var valueCount: UInt64 {
        resolved(largest: 0).reduce(0) { $0 + UInt64($1.count) }
    }
}

extension IMAPSelectedMailbox {
    /// The UIDs of `set` below UIDNEXT and above `floor` that this session no longer has,
    /// as ranges, if anything was expunged after `modSeq`; else none (RFC 7162 sections
    /// 3.2.5.1 and 3.2.6). `*` is the last UID handed out. The work is bounded by the
    /// messages and the set's ranges, not by the width of its ranges.
    func vanished(in set: IMAPSequenceSet, since modSeq: UInt64, above floor: UInt32 = 0) -> [ClosedRange<UInt32>] {
        guard expungeModSeq > modSeq, uidNext > 1, floor < uidNext - 1 else { return [] }
        let last = uidNext - 1
        var result: [ClosedRange<UInt32>] = []
        for range in set.resolved(largest: last) where range.upperBound > floor && range.lowerBound <= last {
            var low = max(range.lowerBound, floor + 1)
            let high = min(range.upperBound, last)
            var index = firstIndex(notBelowUID: low)
            while low <= high {
                guard index < messages.count, messages[index].uid <= high else {
                    result.append(low...high)
                    break
                }
                let present = messages[index].uid
                if present > low { result.append(low...(present - 1)) }
                guard present < high else { break }
                low = present + 1
                index += 1
            }
        }
        return result
    }

    /// The largest UID of a pair of the message sequence match data that still holds:
    /// message `n` has the UID the client had for it, so the client saw every expunge up to
    /// it (RFC 7162 section 3.2.5.2). The pairs are tried in order and the first mismatch
    /// ends the search; 0 if none holds.
    func matchedUID(_ match: IMAPQResyncParameters.SequenceMatch) -> UInt32 {
        let sequences = match.sequences.resolved(largest: 0).lazy.flatMap { $0 }
        let uids = match.uids.resolved(largest: 0).lazy.flatMap { $0 }
        var matched: UInt32 = 0
        for (sequence, uid) in zip(sequences, uids) {
            guard Int(sequence) <= messages.count, messages[Int(sequence) - 1].uid == uid else { break }
            matched = uid
        }
        return matched
    }

    /// `VANISHED [(EARLIER)] uid-set` (RFC 7162 section 3.2.10), if there are any UIDs.
    static func writeVanished(_ uids: [ClosedRange<UInt32>], earlier: Bool, into w: inout IMAPResponseWriter) {
        guard !uids.isEmpty else { return }
        let set = uids.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound):\($0.upperBound)" }.joined(separator: ",")
        w.untagged(earlier ? "VANISHED (EARLIER) \(set)" : "VANISHED \(set)")
    }
}

extension IMAPCommandExecutor.Run {
    /// SELECT/EXAMINE with a QRESYNC parameter whose UIDVALIDITY still holds (RFC 7162
    /// section 3.2.5.1), after the usual responses: `VANISHED (EARLIER)` for the known UIDs
    /// gone since the client's mod-sequence (above the last pair of the sequence match data
    /// that still holds, section 3.2.5.2), then `FETCH (UID FLAGS MODSEQ)` for the known
    /// messages changed since. With a UIDVALIDITY that changed, the client starts afresh and
    /// is told nothing more.
    mutating func writeResync(_ view: IMAPSelectedMailbox, _ parameters: IMAPQResyncParameters) {
        let known = parameters.knownUIDs ?? IMAPSequenceSet(ranges: [(.number(1), .star)])
        let floor = parameters.sequenceMatch.map { view.matchedUID($0) } ?? 0
        IMAPSelectedMailbox.writeVanished(view.vanished(in: known, since: parameters.modSeq, above: floor), earlier: true, into: &w)
        let last = view.messages.last?.uid ?? 0
        for (index, message) in view.messages.enumerated()
        where message.modSeq > parameters.modSeq && known.contains(message.uid, largest: last) {
            w.untagged("\(index + 1) FETCH (\(view.flagItems(message, uid: true, condStore: true)))")
        }
    }
}
