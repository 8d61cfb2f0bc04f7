import Foundation
import PostgateSessions

/// Sessions and their messages in memory, for resolver tests.
struct InMemorySessionLookup: SessionLookup {
    struct Message {
        var id: String
        var sessionID: Int64
        var threadIndexRoot: String?
    }

    var sessions: [SessionCandidate] = []
    var messages: [Message] = []
    var latestByCustomer: [String: Int64] = [:]

    func session(id: Int64) -> SessionCandidate? {
        sessions.first { $0.id == id }
    }

    func sessions(containingMessageIDs messageIDs: [String]) -> [SessionCandidate] {
        var seen: Set<Int64> = []
        return messageIDs.flatMap { id in messages.filter { $0.id == id }.map(\.sessionID) }
            .filter { seen.insert($0).inserted }.compactMap(session(id:))
    }

    func sessions(threadIndexRoot: String) -> [SessionCandidate] {
        var seen: Set<Int64> = []
        return messages.reversed().filter { $0.threadIndexRoot == threadIndexRoot }.map(\.sessionID)
            .filter { seen.insert($0).inserted }.compactMap(session(id:))
    }

    func latestSession(customer: String) -> SessionCandidate? {
        latestByCustomer[customer].flatMap(session(id:))
    }
}
