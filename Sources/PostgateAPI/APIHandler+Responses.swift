import Foundation
import OpenAPIRuntime
import PostgateDirectory
import PostgateMaildir
import PostgateStore

/// Standard responses, as `postgate response` adds, lists, shows and removes them: the same
/// store calls and checks; each change in the audit log.
extension APIHandler {
    func listResponses(_ input: Operations.ListResponses.Input) async throws -> Operations.ListResponses.Output {
        let records = try await blocking { store throws(StoreError) in try store.responses() }
        let page = try Pagination.page(records.sorted { $0.name < $1.name }, key: \.name, limit: input.query.limit, cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.standardResponse), nextCursor: page.next))))
    }

    func getResponse(_ input: Operations.GetResponse.Input) async throws -> Operations.GetResponse.Output {
        let name = input.path.name
        let record = try await blocking { store throws(StoreError) in try store.response(named: name) }
        return .ok(.init(body: .json(Self.standardResponse(record))))
    }

    /// The message agents see, byte for byte (`postgate response show --raw`).
    func getResponseMessage(_ input: Operations.GetResponseMessage.Input) async throws -> Operations.GetResponseMessage.Output {
        let name = input.path.name
        let bytes = try await blocking { store throws(StoreError) in try store.responseMessage(named: name) }
        return .ok(.init(body: .messageRfc822(HTTPBody(bytes))))
    }

    /// Adds the response, or with `replace` saves it over the one of that name (200 then, 201
    /// for a new one). A queue the body names that does not exist is 422.
    func addResponse(_ input: Operations.AddResponse.Input) async throws -> Operations.AddResponse.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("the body must be JSON") }
        let files = try (body.attachments ?? []).map(Self.attachment)
        let replace = body.replace ?? false
        let (record, replaced) = try await blocking { store throws(StoreError) -> (ResponseRecord, Bool) in
            var existed = false
            if replace { existed = try store.responses().contains { $0.name == body.name } }
            do throws(StoreError) {
                let record = try store.addResponse(name: body.name, subject: body.subject, text: body.text, html: body.html,
                                                   attachments: files, queue: body.queue, replacing: replace)
                return (record, existed)
            } catch {
                if case .queueNotFound = error { throw .invalidSetting(error.description) }
                throw error
            }
        }
        try await audit(replaced ? "response.replace" : "response.add", record.name, record.folder)
        let answer = Self.standardResponse(record)
        return replaced ? .ok(.init(body: .json(answer))) : .created(.init(body: .json(answer)))
    }

    func removeResponse(_ input: Operations.RemoveResponse.Input) async throws -> Operations.RemoveResponse.Output {
        let name = input.path.name
        try await blocking { store throws(StoreError) in try store.removeResponse(named: name) }
        try await audit("response.remove", name)
        return .noContent(.init())
    }

    /// A file of the body: a bare file name (its extension gives the Content-Type, as for
    /// `postgate response add --attach`) and its bytes in base64.
    static func attachment(_ file: Components.Schemas.ResponseAttachment) throws -> ResponseAttachment {
        let name = file.filename
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.contains("\\"),
              !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw APIProblem.badRequest("an attachment's filename must be a file name without a directory or control characters")
        }
        guard let data = Data(base64Encoded: file.content) else { throw APIProblem.invalid("the attachment \(name) is not base64") }
        return ResponseAttachment(filename: name, contentType: ResponseAttachment.contentType(of: name), data: Array(data))
    }

    static func standardResponse(_ r: ResponseRecord) -> Components.Schemas.StandardResponse {
        .init(name: r.name, subject: r.subject, queue: r.queue, size: r.size, attachments: r.attachments, folder: r.folder,
              createdAt: r.createdAt, updatedAt: r.updatedAt)
    }
}
