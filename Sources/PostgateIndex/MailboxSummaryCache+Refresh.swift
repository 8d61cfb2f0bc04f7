/// Bringing a cached summary up to date from the messages changed since it was read,
/// instead of reading the whole mailbox again (the first SELECT after a delivery or a
/// flag change).
extension MailboxSummaryCache.Version {
    /// Whether summaries read at this version become those of `newer` by applying the
    /// messages whose mod-sequence is above `highestModSeq`: same UIDVALIDITY and `\Seen`
    /// setting, a later HIGHESTMODSEQ, and no message removed since (`expungeModSeq`, the
    /// mailbox's HIGHESTMODSEQ when a row last left it, below this version's). Every
    /// change of a message gives it a mod-sequence above the mailbox's HIGHESTMODSEQ
    /// before it (RFC 7162 section 3.1.1), so a changed or new message is among them.
    package func canRefresh(to newer: Self, expungeModSeq: UInt64) -> Bool {
        uidValidity == newer.uidValidity && privateSeen == newer.privateSeen
            && highestModSeq < newer.highestModSeq && expungeModSeq < highestModSeq
    }
}

extension MailboxSummaryCache {
    /// `messages` (in UID order) with `changed` applied: a message with a known UID is
    /// replaced, a new one is put in its place in UID order.
    package static func merging(_ changed: [MessageSummary], into messages: [MessageSummary]) -> [MessageSummary] {
        var merged = messages
        for message in changed {
            let index = insertionIndex(of: message.uid, in: merged)
            if index < merged.count, merged[index].uid == message.uid {
                merged[index] = message
            } else {
                merged.insert(message, at: index)
            }
        }
        return merged
    }

    /// The first index in `messages` whose UID is not below `uid`.
    private static func insertionIndex(of uid: UInt32, in messages: [MessageSummary]) -> Int {
        if let last = messages.last, last.uid < uid { return messages.count }
        var low = 0, high = messages.count
        while low < high {
            let mid = (low + high) / 2
            if messages[mid].uid < uid { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
