import Foundation
import PostgateDirectory
import PostgateMaildir
import PostgateMessage
import PostgateStore

/// Queues and agents written through the API, as `postgate queue` and `postgate agent` do;
/// each change is in the audit log with the token's name.
extension APIHandler {
    func addQueue(_ input: Operations.AddQueue.Input) async throws -> Operations.AddQueue.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("the body must be JSON") }
        if let description = body.description, description.contains(where: \.isNewline) {
            throw APIProblem.badRequest("description must be one line")
        }
        let record = try await blocking { store throws(StoreError) in
            try store.addQueue(body.name, description: body.description, privateSeen: body.privateSeen ?? false)
        }
        try await audit("queue.add", record.name)
        return .created(.init(body: .json(Self.queue(record))))
    }

    func removeQueue(_ input: Operations.RemoveQueue.Input) async throws -> Operations.RemoveQueue.Output {
        let name = input.path.name
        try await blocking { store throws(StoreError) in try store.removeQueue(name) }
        try await audit("queue.remove", name)
        return .noContent(.init())
    }

    func addAgent(_ input: Operations.AddAgent.Input) async throws -> Operations.AddAgent.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("the body must be JSON") }
        guard body.password.count >= 8 else { throw APIProblem.badRequest("the password must have at least 8 characters") }
        if let name = body.displayName, name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw APIProblem.badRequest("displayName must be one line without control characters")
        }
        let record = try await blocking { store throws(StoreError) in
            try store.addAgent(body.name, displayName: body.displayName, password: body.password)
        }
        try await audit("agent.add", record.name)
        return .created(.init(body: .json(Self.agent(record))))
    }

    func removeAgent(_ input: Operations.RemoveAgent.Input) async throws -> Operations.RemoveAgent.Output {
        let name = input.path.name
        try await blocking { store throws(StoreError) in try store.removeAgent(name) }
        try await audit("agent.remove", name)
        return .noContent(.init())
    }

    func grantAgent(_ input: Operations.GrantAgent.Input) async throws -> Operations.GrantAgent.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("the body must be JSON") }
        let (name, membership) = (input.path.name, try Self.membership(body.target))
        // The agent is the resource (404 when missing); a target that does not exist is a body
        // the server cannot act on (422).
        let record = try await blocking { store throws(StoreError) in
            guard try store.agent(name) != nil else { throw .agentNotFound(name) }
            do throws(StoreError) {
                return try store.grant(agent: name, to: membership)
            } catch {
                switch error {
                case .queueNotFound, .addressNotFound: throw .invalidSetting(error.description)
                default: throw error
                }
            }
        }
        try await audit("agent.grant", name, membership.description)
        return .ok(.init(body: .json(Self.agent(record))))
    }

    func revokeAgent(_ input: Operations.RevokeAgent.Input) async throws -> Operations.RevokeAgent.Output {
        let (name, membership) = (input.path.name, try Self.membership(input.path.target))
        let record = try await blocking { store throws(StoreError) in try store.revoke(agent: name, from: membership) }
        try await audit("agent.revoke", name, membership.description)
        return .ok(.init(body: .json(Self.agent(record))))
    }

    /// An address when the target has an `@` (as `postgate agent grant` reads it), else a queue.
    static func membership(_ target: String) throws -> AgentMembership {
        guard target.contains("@") else { return .queue(target) }
        return .address(try emailAddress(target, refusal: .notFound))
    }

    static func queue(_ q: QueueRecord) -> Components.Schemas.Queue {
        .init(name: q.name, description: q.description, mailboxPath: q.mailboxPath, messageCount: q.messageCount,
              usedBy: q.usedBy, privateSeen: q.privateSeen, createdAt: q.createdAt)
    }

    static func agent(_ a: AgentRecord) -> Components.Schemas.Agent {
        .init(name: a.name, displayName: a.displayName, addresses: a.addresses, queues: a.queues, createdAt: a.createdAt)
    }
}
