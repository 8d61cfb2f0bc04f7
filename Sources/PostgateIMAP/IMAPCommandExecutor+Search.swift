import Foundation
import PostgateStore

/// SEARCH (with ESEARCH return options, RFC 4731), SORT and THREAD (RFC 5256).
extension IMAPCommandExecutor.Run {
    mutating func search(_ key: IMAPSearchKey, uid: Bool, returnOptions: [String]?) throws(IMAPCommandFailure) {
        guard let view = selected else { return }
        var evaluator = IMAPSearchEvaluator(store: store, view: view)
        let matches = try reading { () throws(IMAPCommandFailure) in try evaluator.matches(key) }
        selected = evaluator.view
        let numbers = matches.map { uid ? view.messages[$0].uid : UInt32($0 + 1) }
        // With a MODSEQ key, the highest mod-sequence of the matches (RFC 7162 section 3.1.5).
        let highest = key.usesModSeq ? matches.map { view.messages[$0].modSeq }.max() : nil
        if let options = returnOptions {
            var parts = ["(TAG \"\(tag)\")"] + (uid ? ["UID"] : [])
            let wanted = options.isEmpty ? ["ALL"] : options
            if wanted.contains("MIN"), let first = numbers.first { parts.append("MIN \(first)") }
            if wanted.contains("MAX"), let last = numbers.last { parts.append("MAX \(last)") }
            if wanted.contains("COUNT") { parts.append("COUNT \(numbers.count)") }
            if wanted.contains("ALL"), !numbers.isEmpty { parts.append("ALL " + Self.uidList(numbers)) }
            // With only MIN and/or MAX, MODSEQ is that of the messages returned (RFC 4731
            // section 3.2), not of every match.
            let returned = wanted.contains("ALL") || wanted.contains("COUNT")
                ? matches : [matches.first, matches.last].enumerated().compactMap { position, index in
                    wanted.contains(position == 0 ? "MIN" : "MAX") ? index : nil
                }
            if key.usesModSeq, let highest = returned.map({ view.messages[$0].modSeq }).max() { parts.append("MODSEQ \(highest)") }
            w.untagged("ESEARCH " + parts.joined(separator: " "))
        } else {
            w.untagged((["SEARCH"] + numbers.map(String.init) + (highest.map { ["(MODSEQ \($0))"] } ?? [])).joined(separator: " "))
        }
        try finishReading("SEARCH", unreadable: [], expunged: Array(evaluator.expunged), expungedFails: false)
    }

    /// Runs a search step; a store failure is logged before it becomes the tagged `NO`.
    private func reading<T>(_ body: () throws(IMAPCommandFailure) -> T) throws(IMAPCommandFailure) -> T {
        do {
            return try body()
        } catch {
            executor.logger.error("search failed", metadata: ["mailbox": "\(selected?.mailbox.path ?? "")", "error": "\(error.text)"])
            throw error
        }
    }

    /// The sort keys of the messages at `indexes`, and the UIDs of those whose file is gone.
    private func sortKeys(_ indexes: [Int], view: IMAPSelectedMailbox) throws(IMAPCommandFailure) -> (keys: [IMAPSortKeys], gone: [UInt32]) {
        var keys: [IMAPSortKeys] = []
        keys.reserveCapacity(indexes.count)
        var gone: [UInt32] = []
        for index in indexes {
            let key = try reading { () throws(IMAPCommandFailure) in try IMAPSortKeys(store: store, view: view, index: index) }
            if key.fileGone { gone.append(view.messages[index].uid) }
            keys.append(key)
        }
        return (keys, gone)
    }

    mutating func sort(_ criteria: [IMAPCommand.SortCriterion], _ key: IMAPSearchKey, uid: Bool) throws(IMAPCommandFailure) {
        try loadDetails(selected?.messages.indices ?? 0..<0)
        guard let view = selected else { return }
        var evaluator = IMAPSearchEvaluator(store: store, view: view)
        let matches = try reading { () throws(IMAPCommandFailure) in try evaluator.matches(key) }
        let (values, gone) = try sortKeys(matches, view: view)
        let keys = Array(zip(matches, values))
        let sorted = keys.sorted { a, b in
            for criterion in criteria {
                let order = a.1.compare(b.1, by: criterion.key)
                if order != .orderedSame { return criterion.reverse ? order == .orderedDescending : order == .orderedAscending }
            }
            return a.0 < b.0
        }
        let numbers = sorted.map { uid ? view.messages[$0.0].uid : UInt32($0.0 + 1) }
        w.untagged((["SORT"] + numbers.map(String.init)).joined(separator: " "))
        try finishReading("SORT", unreadable: [], expunged: Array(evaluator.expunged.union(gone)), expungedFails: false)
    }

    mutating func thread(_ algorithm: String, _ key: IMAPSearchKey, uid: Bool) throws(IMAPCommandFailure) {
        try loadDetails(selected?.messages.indices ?? 0..<0)
        guard let view = selected else { return }
        var evaluator = IMAPSearchEvaluator(store: store, view: view)
        let matches = try reading { () throws(IMAPCommandFailure) in try evaluator.matches(key) }
        let (keys, gone) = try sortKeys(matches, view: view)
        let messages = zip(matches, keys).map { index, keys in
            IMAPThreader.Message(number: uid ? view.messages[index].uid : UInt32(index + 1), keys: keys)
        }
        let threads = algorithm == "REFERENCES" ? IMAPThreader.references(messages) : IMAPThreader.orderedSubject(messages)
        w.untagged("THREAD " + threads.map(\.description).joined())
        try finishReading("THREAD", unreadable: [], expunged: Array(evaluator.expunged.union(gone)), expungedFails: false)
    }
}
