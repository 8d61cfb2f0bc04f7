import Foundation
import PostgateStore
import PostgateMaildir
import PostgateIndex

/// The message commands: APPEND, CLOSE, EXPUNGE, FETCH, STORE, COPY and MOVE.
extension IMAPCommandExecutor.Run {
    /// APPEND (RFC 9051 section 6.3.12) of the messages received into `upload`'s spool files:
    /// one, or several with MULTIAPPEND, all or none (RFC 3502 section 6.3.11). Every message
    /// must have arrived whole before any is stored; if storing one fails, those stored
    /// before it are expunged again. A refusal drops the rest (the caller aborts the upload).
    mutating func append(_ name: String, _ announced: [IMAPAppendMessage]) throws(IMAPCommandFailure) {
        let mailbox: VisibleMailbox
        do { mailbox = try self.mailbox(name) } catch {
            throw IMAPCommandFailure("No such mailbox \(name)", code: "TRYCREATE")
        }
        // RFC 5530 section 3: NOPERM, the mailbox is read-only for everyone (standard responses).
        guard !mailbox.readOnly else { throw IMAPCommandFailure("\(mailbox.name) is read-only", code: "NOPERM") }
        guard let upload else { throw IMAPCommandFailure("No message received", code: "SERVERBUG") }
        let received = try storeCall { () throws(StoreError) in try upload.take() }
        var messages: [Store.Message] = []
        for (message, expected) in zip(received, announced) {
            guard let message, message.size > 0 else { break }
            guard message.size == expected.size else {
                received.forEach { $0?.abort() }
                throw IMAPCommandFailure("Received \(message.size) of \(expected.size) octets", code: "SERVERBUG")
            }
            messages.append(message)
        }
        guard messages.count == announced.count, received.count == announced.count else {
            received.forEach { $0?.abort() }
            throw IMAPCommandFailure(announced.count == 1 ? "Empty message" : "Empty message or missing message")
        }
        var stored: [(uidValidity: UInt32, uid: UInt32)] = []
        for (index, message) in messages.enumerated() {
            let wanted = announced[index]
            do {
                stored.append(try store.append(message, to: mailbox, flags: MessageFlags(imapNames: wanted.flags),
                                               internalDate: wanted.date ?? Date()))
            } catch {
                messages[(index + 1)...].forEach { $0.abort() }
                try unstore(stored.map(\.uid), from: mailbox)
                throw IMAPCommandFailure(error)
            }
        }
        // UIDPLUS (RFC 4315 section 3): the UIDs in the order of the messages.
        try finish("APPEND completed", code: "APPENDUID \(stored[0].uidValidity) \(Self.uidList(stored.map(\.uid)))")
    }

    /// Takes back the messages a failed MULTIAPPEND stored (RFC 3502 section 6.3.11).
    private func unstore(_ uids: [UInt32], from mailbox: VisibleMailbox) throws(IMAPCommandFailure) {
        guard !uids.isEmpty else { return }
        do {
            _ = try store.expunge(mailbox, uids: uids)
        } catch {
            executor.logger.error("messages of a failed MULTIAPPEND not removed", metadata: [
                "mailbox": "\(mailbox.path)", "uids": "\(Self.uidList(uids))", "error": "\(error)",
            ])
            throw IMAPCommandFailure(error)
        }
    }

    /// CLOSE expunges silently, with QRESYNC too (RFC 7162 section 3.2.8): no VANISHED, and
    /// (as Dovecot answers) no HIGHESTMODSEQ.
    mutating func close() throws(IMAPCommandFailure) {
        guard let view = selected else { return }
        if !view.readOnly {
            let deleted = view.messages.filter(\.flags.isDeleted).map(\.uid)
            _ = try storeCall { () throws(StoreError) in try store.expunge(view.mailbox, uids: deleted) }
        }
        selected = nil
        w.tagged(tag, .ok, "CLOSE completed")
    }

    mutating func expunge(_ uids: IMAPSequenceSet?) throws(IMAPCommandFailure) {
        guard let view = selected else { return }
        guard !view.readOnly else { throw IMAPCommandFailure("Mailbox is read-only", code: "READ-ONLY") }
        var targets = view.messages.filter(\.flags.isDeleted)
        if let uids {
            let wanted = Set(view.indexes(uids, uid: true).map { view.messages[$0].uid })
            targets = targets.filter { wanted.contains($0.uid) }
        }
        _ = try storeCall { () throws(StoreError) in try store.expunge(view.mailbox, uids: targets.map(\.uid)) }
        // With QRESYNC the OK carries the HIGHESTMODSEQ after the expunge (RFC 7162 sections
        // 3.2.7, 3.2.9); every change up to it was just reported.
        try synchronize(allowExpunge: true)
        let code = qresync ? selected.map { "HIGHESTMODSEQ \($0.highestModSeq)" } : nil
        w.tagged(tag, .ok, code: code, "EXPUNGE completed")
    }

    mutating func fetch(
        _ set: IMAPSequenceSet, _ attributes: [IMAPFetchAttribute], uid: Bool, changedSince: UInt64?, vanished: Bool = false
    ) throws(IMAPCommandFailure) {
        // CHANGEDSINCE (RFC 7162 section 3.1.4.1) asks about changes: the view is brought
        // up to date first (changes reported, expunges held back), then filtered.
        if changedSince != nil { try synchronize(allowExpunge: false) }
        guard var view = selected else { return }
        if !uid, !view.sequenceNumbersValid(set) { return badSequence() }
        // VANISHED (RFC 7162 section 3.2.6): the UIDs of the set gone from this session's
        // view, before the FETCHes; expunges held back are still in it and reported later.
        if vanished, let changedSince {
            IMAPSelectedMailbox.writeVanished(view.vanished(in: set, since: changedSince), earlier: true, into: &w)
        }
        var indexes = view.indexes(set, uid: uid)
        if let changedSince { indexes.removeAll { view.messages[$0].modSeq <= changedSince } }
        let marksSeen = !view.readOnly && attributes.contains { $0.setsSeen }
        if marksSeen {
            let unseen = indexes.map { view.messages[$0] }.filter { !$0.flags.isSeen }.map(\.uid)
            if !unseen.isEmpty {
                let changed = try storeCall { () throws(StoreError) in
                    try store.updateFlags(view.mailbox, agent: agent, uids: unseen, unchangedSince: nil) { $0.settingSeen(true) }
                }
                apply(changed.changed, to: &view)
            }
        }
        var responder = IMAPFetchResponder(store: store, mailbox: view.mailbox, attributes: attributes, condStore: condStore,
                                           logger: executor.logger)
        if emit != nil, w.bytes.isEmpty, attributes.contains(where: \.needsFile) { w = IMAPResponseWriter(capacity: Self.chunkSize * 3 / 2) }
        // A message that cannot be written is left out and named in the tagged reply; the
        // others' responses are sent (RFC 2180 section 4.1.2).
        var unreadable: [(uid: UInt32, error: StoreError)] = []
        var expunged: [UInt32] = []
        for batch in indexes.chunks(of: Self.fetchBatch) {
            let uids = view.messages[batch.first!].uid...view.messages[batch.last!].uid
            responder.prepare(uids)
            try storeCall { () throws(StoreError) in try responder.prepareObjectKeys(uids) }
            let needing = !responder.mayNeedDetails ? [] : batch.filter {
                !view.messages[$0].hasDetails && responder.needsDetails(uid: view.messages[$0].uid)
            }
            if !needing.isEmpty { try storeCall { () throws(StoreError) in try view.loadDetails(needing, from: store) } }
            for index in batch {
                let message = view.messages[index]
                do {
                    if try responder.write(message, sequence: index + 1, recent: view.isRecent(message.uid), into: &w) == .expunged {
                        expunged.append(message.uid)
                    }
                } catch {
                    unreadable.append((message.uid, error))
                }
                flushIfLarge()
            }
            responder.storePending(force: false)
        }
        responder.storePending(force: true)
        selected = view
        // A UID FETCH ignores UIDs that no longer exist (RFC 9051 section 6.4.9): a message
        // expunged by another session meanwhile is one, so the command stands (OK with
        // EXPUNGEISSUED, as it tells the client to look); a FETCH named it by number.
        try finishReading("FETCH", unreadable: unreadable, expunged: expunged, expungedFails: !uid)
    }

    /// STORE, with UNCHANGEDSINCE (RFC 7162 section 3.1.3): messages changed since are
    /// left alone and named in `MODIFIED`; with CONDSTORE the changed ones are reported
    /// with their MODSEQ, also after `.SILENT`.
    mutating func storeFlags(
        _ set: IMAPSequenceSet, _ operation: IMAPCommand.StoreOperation, silent: Bool, flags: [String], uid: Bool,
        unchangedSince: UInt64?
    ) throws(IMAPCommandFailure) {
        guard var view = selected else { return }
        guard !view.readOnly else { throw IMAPCommandFailure("Mailbox is read-only", code: "READ-ONLY") }
        if !uid, !view.sequenceNumbersValid(set) { return badSequence() }
        let indexes = view.indexes(set, uid: uid)
        let given = MessageFlags(imapNames: flags)
        let result = try storeCall { () throws(StoreError) in
            try store.updateFlags(view.mailbox, agent: agent, uids: indexes.map { view.messages[$0].uid },
                                  unchangedSince: unchangedSince) { current in
                switch operation {
                case .replace: given
                case .add: current.union(given)
                case .remove: current.subtracting(given)
                }
            }
        }
        apply(result.changed, to: &view)
        view.announceKeywords(of: result.changed, into: &w)
        let modified = Set(result.modified)
        let changed = Set(result.changed.map(\.uid))
        for index in indexes where !modified.contains(view.messages[index].uid) {
            let message = view.messages[index]
            guard !silent || (condStore && changed.contains(message.uid)) else { continue }
            w.untagged("\(index + 1) FETCH (\(view.flagItems(message, uid: uid, condStore: condStore, flags: !silent)))")
        }
        selected = view
        guard !modified.isEmpty else { return try finish("STORE completed", allowExpunge: false) }
        let numbers = indexes.map { view.messages[$0].uid }.filter(modified.contains).map { number in
            uid ? number : UInt32(view.index(ofUID: number)! + 1)
        }
        try finish("Conditional STORE failed", code: "MODIFIED \(Self.uidList(numbers))", allowExpunge: false)
    }

    mutating func copy(_ set: IMAPSequenceSet, to name: String, uid: Bool, move: Bool) throws(IMAPCommandFailure) {
        guard let view = selected else { return }
        if move, view.readOnly { throw IMAPCommandFailure("Mailbox is read-only", code: "READ-ONLY") }
        if !uid, !view.sequenceNumbersValid(set) { return badSequence() }
        let target: VisibleMailbox
        do { target = try mailbox(name) } catch {
            throw IMAPCommandFailure("No such mailbox \(name)", code: "TRYCREATE")
        }
        guard !target.readOnly else { throw IMAPCommandFailure("\(target.name) is read-only", code: "NOPERM") }
        let indexes = view.indexes(set, uid: uid)
        try loadDetails(indexes)
        let messages = indexes.compactMap { selected?.messages[$0] }.filter(\.hasDetails)
        let verb = move ? "MOVE" : "COPY"
        guard !messages.isEmpty else { return try finish("\(verb) completed: nothing to do") }
        let result = try storeCall { () throws(StoreError) in try store.copy(messages, from: view.mailbox, to: target) }
        let code = "COPYUID \(result.uidValidity) \(Self.uidList(result.uids.map(\.0))) \(Self.uidList(result.uids.map(\.1)))"
        guard move else { return try finish("COPY completed", code: code) }
        w.untagged("OK [\(code)] Moved")
        _ = try storeCall { () throws(StoreError) in try store.expunge(view.mailbox, uids: result.uids.map(\.0)) }
        try finish("MOVE completed")
    }

    /// Puts the changed messages into the view (its own changes are not reported again).
    private func apply(_ changed: [MessageSummary], to view: inout IMAPSelectedMailbox) {
        for message in changed {
            if let index = view.index(ofUID: message.uid) { view.messages[index] = message }
        }
    }

    /// Messages a FETCH looks up in the fetch cache at a time.
    static var fetchBatch: Int { 500 }

    private mutating func badSequence() {
        w.tagged(tag, .bad, "Invalid message sequence number")
    }

    /// `1:3,7` from ascending or unordered UIDs, in the order given.
    static func uidList(_ uids: [UInt32]) -> String {
        var parts: [String] = []
        var index = 0
        while index < uids.count {
            var end = index
            while end + 1 < uids.count, uids[end + 1] == uids[end] + 1 { end += 1 }
            parts.append(end == index ? "\(uids[index])" : "\(uids[index]):\(uids[end])")
            index = end + 1
        }
        return parts.joined(separator: ",")
    }
}

extension IMAPFetchAttribute {
    /// BODY[…] without PEEK, RFC822 and RFC822.TEXT set `\Seen` (RFC 9051 section 6.4.5).
    var setsSeen: Bool {
        switch self {
        case .section(_, let peek, _): !peek
        case .rfc822, .rfc822Text: true
        default: false
        }
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements.
    func chunks(of size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
