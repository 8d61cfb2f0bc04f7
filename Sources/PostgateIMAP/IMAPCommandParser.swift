import Foundation

/// Parses a decoded frame into a typed command (RFC 9051 section 9 grammar, with the
/// RFC 3501 forms clients still send). Errors become tagged BAD replies.
public enum IMAPCommandParser {
    public static func parse(_ frame: IMAPFrameDecoder.Frame) -> Result<IMAPTaggedCommand, IMAPParseFailure> {
        var reader = IMAPTokenReader(frame)
        let tag: String
        do {
            tag = try reader.atom(allowing: [UInt8(ascii: "]")])
            guard !tag.contains("+") else { throw IMAPParseError("bad tag") }
            try reader.space()
        } catch {
            return .failure(IMAPParseFailure(tag: nil, message: "missing tag or command"))
        }
        do {
            let name = try reader.atom().uppercased()
            let command = try parseCommand(name, &reader)
            try reader.expectEnd()
            return .success(IMAPTaggedCommand(tag: tag, command: command))
        } catch {
            return .failure(IMAPParseFailure(tag: tag, message: error.message))
        }
    }

    private static func parseCommand(_ name: String, _ r: inout IMAPTokenReader) throws(IMAPParseError) -> IMAPCommand {
        switch name {
        case "CAPABILITY": return .capability
        case "NOOP": return .noop
        case "LOGOUT": return .logout
        case "STARTTLS": return .startTLS
        case "CHECK": return .check
        case "CLOSE": return .close
        case "UNSELECT": return .unselect
        case "IDLE": return .idle
        case "NAMESPACE": return .namespace
        case "EXPUNGE": return .expunge(uids: nil)
        case "LOGIN":
            try r.space()
            let user = try r.astring()
            try r.space()
            return .login(user: user, password: try r.astring())
        case "AUTHENTICATE":
            try r.space()
            let mechanism = try r.atom().uppercased()
            let initial = r.take(" ") ? try r.atom(allowing: [UInt8(ascii: "=")]) : nil
            return .authenticate(mechanism: mechanism, initialResponse: initial)
        case "SELECT", "EXAMINE":
            try r.space()
            let mailbox = try r.astring()
            let parameters = r.take(" ") ? try selectParameters(&r) : (condStore: false, qresync: nil)
            return .select(mailbox: mailbox, readOnly: name == "EXAMINE", condStore: parameters.condStore, qresync: parameters.qresync)
        case "CREATE", "DELETE", "SUBSCRIBE", "UNSUBSCRIBE":
            try r.space()
            let mailbox = try r.astring()
            if name == "CREATE", r.take(" ") { _ = try r.parenthesized { (r) throws(IMAPParseError) in try r.atom() } }
            switch name {
            case "CREATE": return .create(mailbox: mailbox)
            case "DELETE": return .delete(mailbox: mailbox)
            case "SUBSCRIBE": return .subscribe(mailbox: mailbox)
            default: return .unsubscribe(mailbox: mailbox)
            }
        case "RENAME":
            try r.space()
            let from = try r.astring()
            try r.space()
            return .rename(from: from, to: try r.astring())
        case "LIST": return try parseList(&r)
        case "LSUB":
            try r.space()
            let reference = try r.listMailbox()
            try r.space()
            return .lsub(reference: reference, pattern: try r.listMailbox())
        case "STATUS":
            try r.space()
            let mailbox = try r.astring()
            try r.space()
            return .status(mailbox: mailbox, items: try statusItems(&r))
        case "APPEND": return try parseAppend(&r)
        case "SEARCH": return try parseSearch(&r, uid: false)
        case "FETCH": return try parseFetch(&r, uid: false)
        case "STORE": return try parseStore(&r, uid: false)
        case "COPY", "MOVE": return try parseCopy(&r, uid: false, move: name == "MOVE")
        case "SORT": return try parseSort(&r, uid: false)
        case "THREAD": return try parseThread(&r, uid: false)
        case "UID": return try parseUID(&r)
        case "ID":
            try r.space()
            if r.take("N") {
                try r.expect("I")
                try r.expect("L")
                return .id(parameters: nil)
            }
            let items = try r.parenthesized { (r) throws(IMAPParseError) in try r.nstring() ?? "" }
            var parameters: [String: String] = [:]
            for index in stride(from: 0, to: items.count - 1, by: 2) { parameters[items[index]] = items[index + 1] }
            return .id(parameters: parameters)
        case "ENABLE":
            var capabilities: [String] = []
            while r.take(" ") { capabilities.append(try r.atom().uppercased()) }
            guard !capabilities.isEmpty else { throw IMAPParseError("ENABLE needs a capability") }
            return .enable(capabilities: capabilities)
        default:
            throw IMAPParseError("unknown command \(name)")
        }
    }

    private static func parseUID(_ r: inout IMAPTokenReader) throws(IMAPParseError) -> IMAPCommand {
        try r.space()
        let name = try r.atom().uppercased()
        switch name {
        case "FETCH": return try parseFetch(&r, uid: true)
        case "STORE": return try parseStore(&r, uid: true)
        case "SEARCH": return try parseSearch(&r, uid: true)
        case "COPY", "MOVE": return try parseCopy(&r, uid: true, move: name == "MOVE")
        case "SORT": return try parseSort(&r, uid: true)
        case "THREAD": return try parseThread(&r, uid: true)
        case "EXPUNGE":
            try r.space()
            return .expunge(uids: try r.sequenceSet())
        default: throw IMAPParseError("unknown UID command \(name)")
        }
    }

    private static func parseList(_ r: inout IMAPTokenReader) throws(IMAPParseError) -> IMAPCommand {
        try r.space()
        var options = IMAPCommand.ListOptions()
        if r.peek() == UInt8(ascii: "(") {
            for word in try r.parenthesized({ (r) throws(IMAPParseError) in try r.atom().uppercased() }) {
                switch word {
                case "SUBSCRIBED": options.subscribedOnly = true
                case "SPECIAL-USE": options.specialUseOnly = true
                case "RECURSIVEMATCH": options.recursiveMatch = true
                case "REMOTE": break
                default: throw IMAPParseError("unknown LIST selection option \(word)")
                }
            }
            // RFC 5258 section 3.1: RECURSIVEMATCH alone (or with REMOTE only) is BAD.
            if options.recursiveMatch, !options.subscribedOnly, !options.specialUseOnly {
                throw IMAPParseError("RECURSIVEMATCH must not be the only selection option")
            }
            try r.space()
        }
        let reference = try r.listMailbox()
        try r.space()
        let patterns = r.peek() == UInt8(ascii: "(")
            ? try r.parenthesized { (r) throws(IMAPParseError) in try r.listMailbox() }
            : [try r.listMailbox()]
        if r.take(" ") {
            guard try r.atom().uppercased() == "RETURN" else { throw IMAPParseError("expected RETURN") }
            try r.space()
            let returns = try r.parenthesized { (r) throws(IMAPParseError) -> String in
                let word = try r.atom().uppercased()
                if word == "STATUS" {
                    // RFC 5819 section 2: `"STATUS" SP "(" status-att-list ")"`.
                    try r.space()
                    options.returnStatus = try statusItems(&r)
                }
                // RFC 5258 section 6: an unknown return option is BAD.
                guard ["SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "STATUS"].contains(word) else {
                    throw IMAPParseError("unknown LIST return option \(word)")
                }
                return word
            }
            options.returnSpecialUse = returns.contains("SPECIAL-USE")
            options.returnSubscribed = returns.contains("SUBSCRIBED")
            options.returnChildren = returns.contains("CHILDREN")
        }
        return .list(reference: reference, patterns: patterns, options: options)
    }

    /// `"(" status-att *(SP status-att) ")"` (RFC 9051 section 9); an unknown item is BAD.
    private static func statusItems(_ r: inout IMAPTokenReader) throws(IMAPParseError) -> [IMAPCommand.StatusItem] {
        let items = try r.parenthesized { (r) throws(IMAPParseError) in
            let word = try r.atom().uppercased()
            guard let item = IMAPCommand.StatusItem(rawValue: word) else { throw IMAPParseError("unknown STATUS item \(word)") }
            return item
        }
        guard !items.isEmpty else { throw IMAPParseError("STATUS needs an item") }
        return items
    }

    /// `APPEND mailbox 1*(SP [flags SP] [date-time SP] literal)`: one message, or several
    /// (MULTIAPPEND, RFC 3502 section 6).
    private static func parseAppend(_ r: inout IMAPTokenReader) throws(IMAPParseError) -> IMAPCommand {
        try r.space()
        let mailbox = try r.astring()
        var messages: [IMAPAppendMessage] = []
        while r.take(" ") {
            var flags: [String] = []
            var date: Date?
            if r.peek() == UInt8(ascii: "(") {
                flags = try r.parenthesized { (r) throws(IMAPParseError) in try r.flag() }
                try r.space()
            }
            if r.peek() == UInt8(ascii: "\"") {
                let text = String(decoding: try r.string(), as: UTF8.self)
                guard let parsed = IMAPDateTime.parse(text) else { throw IMAPParseError("bad date-time \(text)") }
                date = parsed
                try r.space()
            }
            // The message is a literal (RFC 9051 section 9, `append`), streamed to a spool file
            // as it arrived: the command carries only its size.
            guard let size = r.streamedLiteral() else { throw IMAPParseError("expected the message as a literal") }
            messages.append(IMAPAppendMessage(flags: flags, date: date, size: size))
        }
        guard !messages.isEmpty else { throw IMAPParseError("expected the message as a literal") }
        return .append(mailbox: mailbox, messages: messages)
    }

    private static func parseFetch(_ r: inout IMAPTokenReader, uid: Bool) throws(IMAPParseError) -> IMAPCommand {
        try r.space()
        let set = try r.sequenceSet()
        try r.space()
        var attributes: [IMAPFetchAttribute]
        if r.peek() == UInt8(ascii: "(") {
            attributes = try r.parenthesized { (r) throws(IMAPParseError) in try fetchAttribute(&r) }.flatMap { $0 }
        } else {
            attributes = try fetchAttribute(&r)
        }
        let (changedSince, vanished) = r.take(" ") ? try fetchModifiers(&r, uid: uid) : (nil, false)
        if uid, !attributes.contains(.uid) { attributes.insert(.uid, at: 0) }
        if changedSince != nil, !attributes.contains(.modSeq) { attributes.append(.modSeq) }
        return .fetch(set: set, attributes: attributes, uid: uid, changedSince: changedSince, vanished: vanished)
    }

    /// One FETCH item; the macros ALL, FAST and FULL expand to several.
    private static func fetchAttribute(_ r: inout IMAPTokenReader) throws(IMAPParseError) -> [IMAPFetchAttribute] {
        let word = try r.atom(stoppingAt: [UInt8(ascii: "["), UInt8(ascii: "<")]).uppercased()
        switch word {
        case "ALL": return [.flags, .internalDate, .rfc822Size, .envelope]
        case "FAST": return [.flags, .internalDate, .rfc822Size]
        case "FULL": return [.flags, .internalDate, .rfc822Size, .envelope, .body]
        case "UID": return [.uid]
        case "FLAGS": return [.flags]
        case "INTERNALDATE": return [.internalDate]
        case "RFC822.SIZE": return [.rfc822Size]
        case "ENVELOPE": return [.envelope]
        case "BODYSTRUCTURE": return [.bodyStructure]
        case "RFC822": return [.rfc822]
        case "RFC822.HEADER": return [.rfc822Header]
        case "RFC822.TEXT": return [.rfc822Text]
        case "BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK":
            guard r.take("[") else {
                guard word == "BODY" else { throw IMAPParseError("\(word) needs a section") }
                return [.body]
            }
            let section = try self.section(&r)
            let partial = try self.partial(&r)
            return [.section(section, peek: word.hasSuffix(".PEEK"), partial: partial)]
        case "MODSEQ": return [.modSeq]
        case "PREVIEW": return [.preview(lazy: try previewModifiers(&r))]
        case "SAVEDATE": return [.saveDate]
        case "EMAILID": return [.emailID]
        case "THREADID": return [.threadID]
        default: throw IMAPParseError("unknown FETCH item \(word)")
        }
    }

    /// `"PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"]` (RFC 8970 section 7): LAZY is
    /// the one modifier; an unknown one or an empty list is BAD. Returns whether LAZY was given.
    private static func previewModifiers(_ r: inout IMAPTokenReader) throws(IMAPParseError) -> Bool {
        var probe = r
        guard probe.take(" "), probe.peek() == UInt8(ascii: "(") else { return false }
        r = probe
        let modifiers = try r.parenthesized { (r) throws(IMAPParseError) in try r.atom().uppercased() }
        guard !modifiers.isEmpty else { throw IMAPParseError("PREVIEW needs a modifier in its list") }
        for modifier in modifiers where modifier != "LAZY" {
            throw IMAPParseError("\(modifier) is not a PREVIEW modifier")
        }
        return true
    }

    private static func section(_ r: inout IMAPTokenReader) throws(IMAPParseError) -> IMAPSection {
        var section = IMAPSection()
        if r.take("]") { return section }
        let spec = try r.atom().uppercased()
        var words = spec.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        while let first = words.first, let number = Int(first) {
            guard number > 0, section.part.count < 32 else { throw IMAPParseError("bad section part") }
            section.part.append(number)
            words.removeFirst()
        }
        switch words.joined(separator: ".") {
        case "": section.text = .full
        case "HEADER": section.text = .header
        case "TEXT": section.text = .text
        case "MIME" where !section.part.isEmpty: section.text = .mime
        case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
            try r.space()
            let names = try r.parenthesized { (r) throws(IMAPParseError) in try r.astring() }
            section.text = words.count == 3 ? .headerFieldsNot(names) : .headerFields(names)
        default: throw IMAPParseError("bad section \(spec)")
        }
        try r.expect("]")
        return section
    }

    private static func partial(_ r: inout IMAPTokenReader) throws(IMAPParseError) -> ClosedRange<Int>? {
        guard r.take("<") else { return nil }
        let start = Int(try r.number())
        try r.expect(".")
        let length = Int(try r.number())
        try r.expect(">")
        guard length > 0 else { throw IMAPParseError("a partial range needs a length above 0") }
        return start...(start + length - 1)
    }

    private static func parseStore(_ r: inout IMAPTokenReader, uid: Bool) throws(IMAPParseError) -> IMAPCommand {
        try r.space()
        let set = try r.sequenceSet()
        try r.space()
        var unchangedSince: UInt64?
        if r.peek() == UInt8(ascii: "(") {
            unchangedSince = try modifier("UNCHANGEDSINCE", &r)
            try r.space()
        }
        let word = try r.atom(allowing: [UInt8(ascii: ".")]).uppercased()
        let operation: IMAPCommand.StoreOperation
        switch word.replacingOccurrences(of: ".SILENT", with: "") {
        case "FLAGS": operation = .replace
        case "+FLAGS": operation = .add
        case "-FLAGS": operation = .remove
        default: throw IMAPParseError("bad STORE item \(word)")
        }
        try r.space()
        let flags = r.peek() == UInt8(ascii: "(")
            ? try r.parenthesized { (r) throws(IMAPParseError) in try r.flag() }
            : try spaceSeparatedFlags(&r)
        return .store(set: set, operation: operation, silent: word.hasSuffix(".SILENT"), flags: flags, uid: uid,
                      unchangedSince: unchangedSince)
    }

    private static func spaceSeparatedFlags(_ r: inout IMAPTokenReader) throws(IMAPParseError) -> [String] {
        var flags = [try r.flag()]
        while r.take(" ") { flags.append(try r.flag()) }
        return flags
    }

    private static func parseCopy(_ r: inout IMAPTokenReader, uid: Bool, move: Bool) throws(IMAPParseError) -> IMAPCommand {
        try r.space()
        let set = try r.sequenceSet()
        try r.space()
        let mailbox = try r.astring()
        return move ? .move(set: set, mailbox: mailbox, uid: uid) : .copy(set: set, mailbox: mailbox, uid: uid)
    }

    private static func parseSearch(_ r: inout IMAPTokenReader, uid: Bool) throws(IMAPParseError) -> IMAPCommand {
        var returnOptions: [String]?
        var keys: [IMAPSearchKey] = []
        while r.take(" ") {
            if keys.isEmpty, returnOptions == nil, r.peek() == UInt8(ascii: "R") || r.peek() == UInt8(ascii: "r") {
                var probe = r
                if (try? probe.atom().uppercased()) == "RETURN" {
                    r = probe
                    try r.space()
                    returnOptions = try r.parenthesized { (r) throws(IMAPParseError) in try r.atom().uppercased() }
                    continue
                }
            }
            if keys.isEmpty, r.peek() == UInt8(ascii: "C") || r.peek() == UInt8(ascii: "c") {
                var probe = r
                if (try? probe.atom().uppercased()) == "CHARSET" {
                    r = probe
                    try r.space()
                    let charset = try r.astring().uppercased()
                    guard charset == "UTF-8" || charset == "US-ASCII" else {
                        throw IMAPParseError("[BADCHARSET (UTF-8 US-ASCII)] charset \(charset) is not supported")
                    }
                    continue
                }
            }
            keys.append(try IMAPSearchKeyParser.key(&r))
        }
        guard !keys.isEmpty else { throw IMAPParseError("SEARCH needs a search key") }
        return .search(key: keys.count == 1 ? keys[0] : .and(keys), uid: uid, returnOptions: returnOptions)
    }

    private static func parseSort(_ r: inout IMAPTokenReader, uid: Bool) throws(IMAPParseError) -> IMAPCommand {
        try r.space()
        var reverse = false
        let criteria = try r.parenthesized { (r) throws(IMAPParseError) -> IMAPCommand.SortCriterion? in
            let word = try r.atom().uppercased()
            if word == "REVERSE" {
                reverse = true
                return nil
            }
            guard let key = IMAPCommand.SortCriterion.Key(rawValue: word) else { throw IMAPParseError("unknown sort key \(word)") }
            defer { reverse = false }
            return IMAPCommand.SortCriterion(key: key, reverse: reverse)
        }.compactMap { $0 }
        try r.space()
        _ = try r.astring()
        var keys: [IMAPSearchKey] = []
        while r.take(" ") { keys.append(try IMAPSearchKeyParser.key(&r)) }
        guard !keys.isEmpty, !criteria.isEmpty else { throw IMAPParseError("SORT needs criteria and a search key") }
        return .sort(criteria: criteria, key: keys.count == 1 ? keys[0] : .and(keys), uid: uid)
    }

    private static func parseThread(_ r: inout IMAPTokenReader, uid: Bool) throws(IMAPParseError) -> IMAPCommand {
        try r.space()
        let algorithm = try r.atom().uppercased()
        guard algorithm == "REFERENCES" || algorithm == "ORDEREDSUBJECT" else { throw IMAPParseError("unknown THREAD algorithm \(algorithm)") }
        try r.space()
        _ = try r.astring()
        var keys: [IMAPSearchKey] = []
        while r.take(" ") { keys.append(try IMAPSearchKeyParser.key(&r)) }
        guard !keys.isEmpty else { throw IMAPParseError("THREAD needs a search key") }
        return .thread(algorithm: algorithm, key: keys.count == 1 ? keys[0] : .and(keys), uid: uid)
    }
}

/// A command that could not be parsed: its tag (if one could be read) and why.
public struct IMAPParseFailure: Error, Sendable, Equatable {
    public var tag: String?
    public var message: String
}

extension IMAPTokenReader {
    /// `nstring`: NIL or a string.
    mutating func nstring() throws(IMAPParseError) -> String? {
        if peek() == UInt8(ascii: "N") || peek() == UInt8(ascii: "n") {
            let word = try atom()
            guard word.uppercased() == "NIL" else { throw IMAPParseError("expected NIL or a string") }
            return nil
        }
        return String(decoding: try string(), as: UTF8.self)
    }
}
