import Foundation
import PostgateStore

/// SEARCH (with ESEARCH return options, RFC 4731), SORT and THREAD (RFC 5256).
extension IMAPCommandExecutor.Run {
    mutating func search(_ key: IMAPSearchKey, uid: Bool, returnOptions: [String]?) throws(IMAPCommandFailure) {
        guard let view = selected else { return }
        var evaluator = IMAPSearchEvaluator(store: store, view: view)
        let matches = evaluator.matches(key)
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
            if let highest { parts.append("MODSEQ \(highest)") }
            w.untagged("ESEARCH " + parts.joined(separator: " "))
        } else {
            w.untagged((["SEARCH"] + numbers.map(String.init) + (highest.map { ["(MODSEQ \($0))"] } ?? [])).joined(separator: " "))
        }
        try finish("SEARCH completed", allowExpunge: false)
    }

    mutating func sort(_ criteria: [IMAPCommand.SortCriterion], _ key: IMAPSearchKey, uid: Bool) throws(IMAPCommandFailure) {
        try loadDetails(selected?.messages.indices ?? 0..<0)
        guard let view = selected else { return }
        var evaluator = IMAPSearchEvaluator(store: store, view: view)
        let keys = evaluator.matches(key).map { index in (index, IMAPSortKeys(store: store, view: view, index: index)) }
        let sorted = keys.sorted { a, b in
            for criterion in criteria {
                let order = a.1.compare(b.1, by: criterion.key)
                if order != .orderedSame { return criterion.reverse ? order == .orderedDescending : order == .orderedAscending }
            }
            return a.0 < b.0
        }
        let numbers = sorted.map { uid ? view.messages[$0.0].uid : UInt32($0.0 + 1) }
        w.untagged((["SORT"] + numbers.map(String.init)).joined(separator: " "))
        try finish("SORT completed", allowExpunge: false)
    }

    mutating func thread(_ algorithm: String, _ key: IMAPSearchKey, uid: Bool) throws(IMAPCommandFailure) {
        try loadDetails(selected?.messages.indices ?? 0..<0)
        guard let view = selected else { return }
        var evaluator = IMAPSearchEvaluator(store: store, view: view)
        let messages = evaluator.matches(key).map { index in
            IMAPThreader.Message(number: uid ? view.messages[index].uid : UInt32(index + 1),
                                 keys: IMAPSortKeys(store: store, view: view, index: index))
        }
        let threads = algorithm == "REFERENCES" ? IMAPThreader.references(messages) : IMAPThreader.orderedSubject(messages)
        w.untagged("THREAD " + threads.map(\.description).joined())
        try finish("THREAD completed", allowExpunge: false)
    }
}
