import PostgateMessage

/// The base subject of RFC 5256 section 2.1, which SORT (SUBJECT) orders by and THREAD
/// groups by, and whether the subject marked the message as a reply or forward (section
/// 2.2, step 5). The result is folded with i;ascii-casemap (RFC 4790 section 9.2: ASCII
/// letters in upper case, every other octet as it is) and compares as octets.
struct IMAPBaseSubject: Equatable {
    var text: String
    var isReplyOrForward: Bool

    private typealias Octets = [UInt8]
    private static let space = UInt8(ascii: " "), open = UInt8(ascii: "["), close = UInt8(ascii: "]")
    private static let colon = UInt8(ascii: ":")

    init(_ subject: String) {
        // (1) Encoded words decoded, tabs and line breaks as spaces, runs of spaces as one.
        var s: Octets = []
        for byte in EncodedWordDecoder.decode(subject).utf8 {
            let folded = byte == 9 || byte == 10 || byte == 13 ? Self.space : (97...122).contains(byte) ? byte - 32 : byte
            if folded == Self.space, s.last == Self.space { continue }
            s.append(folded)
        }
        var marked = false
        while true {
            // (2) Trailers: "(fwd)" and white space.
            while true {
                if s.last == Self.space {
                    s.removeLast()
                } else if s.count >= 5, s.suffix(5).elementsEqual("(FWD)".utf8) {
                    s.removeLast(5)
                    marked = true
                } else {
                    break
                }
            }
            // (3) to (5): leaders (`Re:`, `Fwd:`, `[tag] Re:`, white space), then a leading
            // `[blob]` where something follows it, until neither is left.
            var changed = true
            while changed {
                changed = false
                if let leader = Self.leader(s) {
                    s.removeFirst(leader.length)
                    if leader.isReplyOrForward { marked = true }
                    changed = true
                }
                if let blob = Self.blob(s, at: 0), s[blob...].contains(where: { $0 != Self.space }) {
                    s.removeFirst(blob)
                    changed = true
                }
            }
            // (6) `[fwd: …]` unwrapped, and again from (2).
            if s.count >= 6, s.prefix(5).elementsEqual("[FWD:".utf8), s.last == Self.close {
                s = Octets(s[5..<(s.count - 1)])
                marked = true
                continue
            }
            break
        }
        text = String(decoding: s, as: UTF8.self)
        isReplyOrForward = marked
    }

    /// `subj-leader = (*subj-blob subj-refwd) / WSP`: its length, and whether it held a
    /// `subj-refwd`.
    private static func leader(_ s: Octets) -> (length: Int, isReplyOrForward: Bool)? {
        guard let first = s.first else { return nil }
        if first == space { return (1, false) }
        var position = 0
        while let blob = blob(s, at: position) { position += blob }
        guard let end = refwd(s, at: position) else { return nil }
        return (end, true)
    }

    /// `subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"`: the index after it.
    private static func refwd(_ s: Octets, at start: Int) -> Int? {
        var position = start
        func take(_ text: String) -> Bool {
            let octets = Array(text.utf8)
            guard s.count - position >= octets.count, s[position..<(position + octets.count)].elementsEqual(octets) else { return false }
            position += octets.count
            return true
        }
        if !take("RE") {
            guard take("FW") else { return nil }
            _ = take("D")
        }
        while position < s.count, s[position] == space { position += 1 }
        if let blob = blob(s, at: position) { position += blob }
        guard position < s.count, s[position] == colon else { return nil }
        return position + 1
    }

    /// `subj-blob = "[" *BLOBCHAR "]" *WSP` at `start`: its length.
    private static func blob(_ s: Octets, at start: Int) -> Int? {
        guard start < s.count, s[start] == open else { return nil }
        var position = start + 1
        while position < s.count, s[position] != open, s[position] != close { position += 1 }
        guard position < s.count, s[position] == close else { return nil }
        position += 1
        while position < s.count, s[position] == space { position += 1 }
        return position - start
    }

    /// Octet order of the folded texts (i;ascii-casemap ordering).
    static func < (a: IMAPBaseSubject, b: IMAPBaseSubject) -> Bool {
        a.text.utf8.lexicographicallyPrecedes(b.text.utf8)
    }
}
