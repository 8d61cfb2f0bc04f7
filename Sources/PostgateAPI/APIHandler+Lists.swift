import Foundation
import PostgateDirectory
import PostgateIndex
import PostgateMaildir
import PostgateOutbound
import PostgateStore

extension APIHandler {
    func listQueues(_ input: Operations.ListQueues.Input) async throws -> Operations.ListQueues.Output {
        let records = try await blocking { store throws(StoreError) in try store.queues() }
        let page = try Pagination.page(records.sorted { $0.name < $1.name }, key: \.name, limit: input.query.limit, cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.queue), nextCursor: page.next))))
    }

    func listAgents(_ input: Operations.ListAgents.Input) async throws -> Operations.ListAgents.Output {
        let records = try await blocking { store throws(StoreError) in try store.agents() }
        let page = try Pagination.page(records.sorted { $0.name < $1.name }, key: \.name, limit: input.query.limit, cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.agent), nextCursor: page.next))))
    }

    /// Sessions by id, newest first; the store reads one page (plus one, to know whether
    /// another follows), whatever the number of sessions.
    func listSessions(_ input: Operations.ListSessions.Input) async throws -> Operations.ListSessions.Output {
        let limit = try Pagination.limit(input.query.limit)
        let before = try Pagination.decodeID(input.query.cursor)
        let address = try input.query.address.map { try Self.emailAddress($0, refusal: .notFound) }
        let openOnly = input.query.open ?? false
        let records = try await blocking { store throws(StoreError) in
            try store.sessions(address: address, openOnly: openOnly, page: (beforeID: before, limit: limit + 1))
        }
        let page = Array(records.prefix(limit))
        let next = records.count > limit ? page.last.map { Pagination.encode(String($0.id)) } : nil
        return .ok(.init(body: .json(.init(items: page.map(Self.session), nextCursor: next))))
    }

    func getSession(_ input: Operations.GetSession.Input) async throws -> Operations.GetSession.Output {
        let id = input.path.id
        let thread = try await blocking { store throws(StoreError) in try store.sessionThread(id: id) }
        let messages = thread.messages.map { m in
            Components.Schemas.SessionMessage(depth: m.depth, uid: Int64(m.uid), mailboxPath: m.mailboxPath, from: m.from, date: m.date,
                                              subject: m.subject, messageId: m.messageId, reason: m.reason, snippet: m.snippet)
        }
        return .ok(.init(body: .json(.init(session: Self.session(thread.session), messages: messages,
                                           events: thread.events.map(Self.sessionEvent)))))
    }

    func assignSession(_ input: Operations.AssignSession.Input) async throws -> Operations.AssignSession.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("the body must be JSON") }
        let (id, actor) = (input.path.id, APICaller.actor)
        let session = try await blocking { store throws(StoreError) in
            try store.assignSession(id, to: body.agent, actor: actor)
            return try store.sessionThread(id: id).session
        }
        try await audit("session.assign", String(id), "to \(session.owner ?? body.agent)")
        return .ok(.init(body: .json(Self.session(session))))
    }

    func transferSession(_ input: Operations.TransferSession.Input) async throws -> Operations.TransferSession.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("the body must be JSON") }
        if let note = body.note, note.contains(where: \.isNewline) { throw APIProblem.badRequest("note must be one line") }
        let (id, actor) = (input.path.id, APICaller.actor)
        let session = try await blocking { store throws(StoreError) in
            try store.transferSession(id, to: body.queue, actor: actor, detail: body.note)
            return try store.sessionThread(id: id).session
        }
        try await audit("session.transfer", String(id), "to \(session.queue ?? body.queue)")
        return .ok(.init(body: .json(Self.session(session))))
    }

    static func sessionEvent(_ e: SessionEventRecord) -> Components.Schemas.SessionEvent {
        .init(at: e.at, kind: .init(rawValue: e.kind) ?? .assigned, actor: e.actor, agent: e.agent, fromQueue: e.fromQueue,
              toQueue: e.toQueue, detail: e.detail)
    }

    func listOutbound(_ input: Operations.ListOutbound.Input) async throws -> Operations.ListOutbound.Output {
        let outbound = self.outbound
        let records = try await threadPool.runToCompletion { () throws -> [OutboundMessageRecord] in
            do { return try outbound.messages() } catch { throw APIProblem(refusal: error) }
        }
        let sorted = records.sorted { $0.id < $1.id }
        // Keys compare as text, so ids are zero-padded to keep their order.
        let page = try Pagination.page(sorted, key: { String(format: "%020lld", $0.id) }, limit: input.query.limit, cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.outboundMessage), nextCursor: page.next))))
    }

    func retryOutbound(_ input: Operations.RetryOutbound.Input) async throws -> Operations.RetryOutbound.Output {
        let (outbound, id) = (self.outbound, input.path.id)
        let record = try await threadPool.runToCompletion { () throws -> OutboundMessageRecord in
            do {
                _ = try outbound.retry(id)
                return try outbound.message(id)
            } catch { throw APIProblem(refusal: error) }
        }
        try await audit("outbound.retry", String(id))
        return .ok(.init(body: .json(Self.outboundMessage(record))))
    }

    func listAudit(_ input: Operations.ListAudit.Input) async throws -> Operations.ListAudit.Output {
        let limit = try Pagination.limit(input.query.limit)
        let before = try Pagination.decodeID(input.query.cursor)
        let events = try await blocking { store throws(StoreError) in try store.auditEvents(before: before, limit: limit + 1) }
        let page = Array(events.prefix(limit))
        let next = events.count > limit ? page.last.map { Pagination.encode(String($0.id)) } : nil
        let items = page.map { e in
            Components.Schemas.AuditEvent(id: e.id, at: e.at, actor: e.actor, action: e.action, target: e.target, detail: e.detail)
        }
        return .ok(.init(body: .json(.init(items: items, nextCursor: next))))
    }

    static func session(_ s: SessionRecord) -> Components.Schemas.Session {
        .init(id: s.id, address: s.address, customer: s.customer, status: .init(rawValue: s.status) ?? .closed,
              mode: .init(rawValue: s.mode) ?? .channel, subject: s.subject, startedAt: s.startedAt, lastActivityAt: s.lastActivityAt,
              expiresAt: s.expiresAt, previousSessionId: s.previousSessionId, messageCount: s.messageCount, participants: s.participants,
              owner: s.owner, queue: s.queue, awaitingSince: s.awaitingSince)
    }

    static func outboundMessage(_ m: OutboundMessageRecord) -> Components.Schemas.OutboundMessage {
        .init(id: m.id, sender: m.sender, size: m.size, createdAt: m.createdAt, expiresAt: m.expiresAt, state: m.state,
              recipients: m.recipients.map { r in
                  .init(address: r.address, state: .init(rawValue: r.state.rawValue) ?? .queued, attempts: r.attempts,
                        nextAttemptAt: r.nextAttemptAt, lastAttemptAt: r.lastAttemptAt, lastReply: r.lastReply)
              })
    }
}
