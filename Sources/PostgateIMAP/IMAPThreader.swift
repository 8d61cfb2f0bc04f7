import Foundation

/// THREAD=REFERENCES and THREAD=ORDEREDSUBJECT (RFC 5256 section 2): the conversation
/// view. REFERENCES links messages by Message-ID, References and In-Reply-To without
/// making loops, drops empty containers (promoting their children), gathers threads with
/// the same base subject, and orders threads and siblings by sent date.
enum IMAPThreader {
    struct Message {
        var number: UInt32
        var keys: IMAPSortKeys
    }

    /// A thread node: a message (or a dummy, standing for a message not in the result)
    /// and its replies.
    final class Node {
        var message: Message?
        var children: [Node] = []
        weak var parent: Node?

        init(_ message: Message?) { self.message = message }

        /// The sent date and number a node sorts by; a dummy's are its first child's
        /// (section 2.2, step 6; the children are sorted first).
        var order: (Date, UInt32) {
            if let message { return (message.keys.date, message.number) }
            return children.first?.order ?? (.distantPast, 0)
        }

        /// `(1 2 (3)(4))`: a chain of single replies stays in one list, siblings are sublists.
        var description: String { "(" + chain + ")" }

        private var chain: String {
            var parts = message.map { ["\($0.number)"] } ?? []
            if children.count == 1 {
                parts.append(children[0].chain)
            } else if !children.isEmpty {
                parts.append(children.map(\.description).joined())
            }
            return parts.filter { !$0.isEmpty }.joined(separator: " ")
        }

        func isAncestor(of other: Node) -> Bool {
            var node: Node? = other
            while let current = node {
                if current === self { return true }
                node = current.parent
            }
            return false
        }

        /// The base subject of the thread this node starts: its message's, or a dummy's first child's.
        var threadSubject: IMAPBaseSubject? { message?.keys.subject ?? children.first?.message?.keys.subject }
    }

    static func references(_ messages: [Message]) -> [Node] {
        var byID: [String: Node] = [:]
        var all: [Node] = []
        func container(_ id: String) -> Node {
            if let node = byID[id] { return node }
            let node = Node(nil)
            byID[id] = node
            all.append(node)
            return node
        }
        // Step 1: link by references.
        for message in messages {
            let node: Node
            if let id = message.keys.messageID, let existing = byID[id], existing.message == nil {
                existing.message = message
                node = existing
            } else {
                // (1A) No Message-ID, or one seen already: a unique one of its own.
                node = Node(message)
                all.append(node)
                if let id = message.keys.messageID, byID[id] == nil { byID[id] = node }
            }
            // (1B) Each reference a child of the one before it, unless already linked or a loop.
            var previous: Node?
            for reference in message.keys.references {
                let current = container(reference)
                if let previous, current.parent == nil, current !== previous,
                   !current.isAncestor(of: previous), !previous.isAncestor(of: current) {
                    link(current, to: previous)
                }
                previous = current
            }
            // (1C) The message a child of its last reference, replacing any parent it had,
            // unless that would make a loop.
            if let parent = node.parent { unlink(node, from: parent) }
            if let previous, previous !== node, !node.isAncestor(of: previous) {
                link(node, to: previous)
            }
        }
        // Steps 2 to 4: the roots, without dummies that hold nothing or one child.
        var roots = all.filter { $0.parent == nil }.flatMap(prune)
        roots = groupBySubject(roots)
        // Step 6: siblings and threads by sent date, then by number.
        for root in roots { sortChildren(root) }
        roots.sort { $0.order < $1.order }
        return roots
    }

    static func orderedSubject(_ messages: [Message]) -> [Node] {
        var groups: [String: Node] = [:]
        var roots: [Node] = []
        for message in messages.sorted(by: { ($0.keys.date, $0.number) < ($1.keys.date, $1.number) }) {
            if let root = groups[message.keys.subject.text] {
                root.children.append(Node(message))
            } else {
                let root = Node(message)
                groups[message.keys.subject.text] = root
                roots.append(root)
            }
        }
        return roots
    }

    /// Step 5: threads whose base subjects are the same become one, under the thread that
    /// is not a reply (or a dummy), or under a new dummy.
    private static func groupBySubject(_ roots: [Node]) -> [Node] {
        for root in roots { sortChildren(root) }  // a dummy's subject is its first child's
        var table: [String: Node] = [:]
        for root in roots {
            guard let subject = root.threadSubject, !subject.text.isEmpty else { continue }
            guard let known = table[subject.text] else {
                table[subject.text] = root
                continue
            }
            if known.message != nil,
               root.message == nil || (known.message!.keys.subject.isReplyOrForward && !root.message!.keys.subject.isReplyOrForward) {
                table[subject.text] = root
            }
        }
        var result: [Node] = []
        for root in roots where root.parent == nil {
            guard let subject = root.threadSubject, !subject.text.isEmpty, let known = table[subject.text], known !== root else {
                result.append(root)
                continue
            }
            if known.message == nil, root.message == nil {
                for child in root.children { link(child, to: known) }
                root.children = []
            } else if known.message == nil {
                link(root, to: known)
            } else if root.message?.keys.subject.isReplyOrForward == true, known.message?.keys.subject.isReplyOrForward == false {
                link(root, to: known)
            } else {
                let dummy = Node(nil)
                if let index = result.firstIndex(where: { $0 === known }) { result[index] = dummy } else { result.append(dummy) }
                link(known, to: dummy)
                link(root, to: dummy)
                table[subject.text] = dummy
            }
        }
        // A root merged into a thread met after it was kept before that: drop it.
        return result.filter { $0.parent == nil }
    }

    private static func sortChildren(_ node: Node) {
        for child in node.children { sortChildren(child) }
        node.children.sort { $0.order < $1.order }
    }

    private static func link(_ child: Node, to parent: Node) {
        child.parent = parent
        parent.children.append(child)
    }

    private static func unlink(_ child: Node, from parent: Node) {
        parent.children.removeAll { $0 === child }
        child.parent = nil
    }

    /// Removes empty containers, promoting their children (RFC 5256 section 2.2, step 4).
    private static func prune(_ node: Node) -> [Node] {
        let children = node.children.flatMap(prune)
        node.children = children
        for child in children { child.parent = node }
        guard node.message == nil else { return [node] }
        // A dummy root with several children stays, to keep them in one thread.
        if node.parent == nil, children.count > 1 { return [node] }
        for child in children { child.parent = nil }
        return children
    }
}
