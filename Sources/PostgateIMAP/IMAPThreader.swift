import Foundation

/// THREAD=REFERENCES and THREAD=ORDEREDSUBJECT (RFC 5256 section 2): the conversation
/// view. REFERENCES links messages by Message-ID, References and In-Reply-To, drops empty
/// containers (promoting their children), and orders threads and siblings by sent date.
enum IMAPThreader {
    struct Message {
        var number: UInt32
        var keys: IMAPSortKeys
    }

    /// A thread node: a message (or, at the top, a group of roots) and its replies.
    final class Node {
        var message: Message?
        var children: [Node] = []
        weak var parent: Node?

        init(_ message: Message?) { self.message = message }

        var date: Date { message?.keys.date ?? children.map(\.date).min() ?? .distantPast }

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
        for message in messages {
            let node: Node
            if let id = message.keys.messageID, let existing = byID[id], existing.message == nil {
                existing.message = message
                node = existing
            } else {
                node = Node(message)
                all.append(node)
                if let id = message.keys.messageID { byID[id] = node }
            }
            var previous: Node?
            for reference in message.keys.references {
                let current = container(reference)
                if let previous, current.parent == nil, !current.isAncestor(of: previous), current !== previous {
                    link(current, to: previous)
                }
                previous = current
            }
            if let previous, previous !== node, !node.isAncestor(of: previous) {
                node.parent.map { unlink(node, from: $0) }
                link(node, to: previous)
            }
        }
        var roots = all.filter { $0.parent == nil }.flatMap(prune)
        roots.sort { $0.date < $1.date }
        return roots
    }

    static func orderedSubject(_ messages: [Message]) -> [Node] {
        var groups: [String: Node] = [:]
        var roots: [Node] = []
        for message in messages.sorted(by: { ($0.keys.date, $0.number) < ($1.keys.date, $1.number) }) {
            if let root = groups[message.keys.subject] {
                root.children.append(Node(message))
            } else {
                let root = Node(message)
                groups[message.keys.subject] = root
                roots.append(root)
            }
        }
        return roots
    }

    private static func link(_ child: Node, to parent: Node) {
        child.parent = parent
        parent.children.append(child)
    }

    private static func unlink(_ child: Node, from parent: Node) {
        parent.children.removeAll { $0 === child }
        child.parent = nil
    }

    /// Removes empty containers, promoting their children (RFC 5256 section 2.2, step 4);
    /// sorts siblings by date.
    private static func prune(_ node: Node) -> [Node] {
        let children = node.children.flatMap(prune).sorted { $0.date < $1.date }
        node.children = children
        for child in children { child.parent = node }
        guard node.message == nil else { return [node] }
        // An empty root with several children stays, to keep them in one thread.
        if node.parent == nil, children.count > 1 { return [node] }
        for child in children { child.parent = nil }
        return children
    }
}
