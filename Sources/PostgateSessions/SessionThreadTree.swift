/// Arranges a session's messages as a reply tree for display (`postgate session show`):
/// a message's parent is the earlier message named by its In-Reply-To, else the newest
/// earlier message in its References (RFC 5322 section 3.6.4); the rest are roots. Order is
/// depth-first, siblings by arrival, as mail clients show a thread.
public enum SessionThreadTree {
    public struct Node: Sendable, Equatable {
        /// Index into the input.
        public var index: Int
        public var depth: Int
    }

    /// `messages`: in arrival order, each message's own id and the ids it refers to,
    /// nearest first (`SessionHeaderFacts.referencedIDs`).
    public static func arrange(_ messages: [(id: String?, referenced: [String])]) -> [Node] {
        var firstIndex: [String: Int] = [:]
        var children: [Int: [Int]] = [:]
        var roots: [Int] = []
        for (index, message) in messages.enumerated() {
            let parent = message.referenced.lazy.compactMap { firstIndex[$0] }.first
            if let parent { children[parent, default: []].append(index) } else { roots.append(index) }
            if let id = message.id, firstIndex[id] == nil { firstIndex[id] = index }
        }
        var nodes: [Node] = []
        var stack = roots.reversed().map { Node(index: $0, depth: 0) }
        while let node = stack.popLast() {
            nodes.append(node)
            stack += (children[node.index] ?? []).reversed().map { Node(index: $0, depth: node.depth + 1) }
        }
        return nodes
    }
}
