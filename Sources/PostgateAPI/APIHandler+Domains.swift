import Foundation
import OpenAPIRuntime
import PostgateDirectory
import PostgateMaildir
import PostgateMessage
import PostgateStore

extension APIHandler {
    func getHealth(_ input: Operations.GetHealth.Input) async throws -> Operations.GetHealth.Output {
        .ok(.init(body: .json(.init(status: .ok))))
    }

    func getMetrics(_ input: Operations.GetMetrics.Input) async throws -> Operations.GetMetrics.Output {
        .ok(.init(body: .textPlainVersion_0_0_4(HTTPBody(await metrics()))))
    }

    func getReadiness(_ input: Operations.GetReadiness.Input) async throws -> Operations.GetReadiness.Output {
        let checks = await readiness()
        let body = Components.Schemas.Readiness(
            ready: checks.allSatisfy(\.ok),
            checks: checks.map { .init(name: .init(rawValue: $0.name.rawValue) ?? .store, ok: $0.ok, detail: $0.detail) })
        return body.ready ? .ok(.init(body: .json(body))) : .serviceUnavailable(.init(body: .json(body)))
    }

    func listDomains(_ input: Operations.ListDomains.Input) async throws -> Operations.ListDomains.Output {
        let (records, statuses) = try await blocking { store throws(StoreError) in (try store.domains(), try store.dkimStatusByDomain()) }
        let page = try Pagination.page(records.sorted { $0.name < $1.name }, key: \.name, limit: input.query.limit, cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map { Self.domain($0, dkimStatus: statuses[$0.name]) }, nextCursor: page.next))))
    }

    func addDomain(_ input: Operations.AddDomain.Input) async throws -> Operations.AddDomain.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("the body must be JSON") }
        let name = try Self.domainName(body.name, refusal: .invalid)
        let kind = DomainKind(rawValue: (body.kind ?? .hosted).rawValue) ?? .hosted
        let limits = self.limits
        let record = try await blocking { store throws(StoreError) in try store.addDomain(name, kind: kind, limits: limits) }
        try await audit("domain.add", record.name, "kind \(record.kind.rawValue)")
        let domain = Self.domain(record, dkimStatus: nil)
        return .created(.init(headers: .init(eTag: EntityTag.respond(record)), body: .json(domain)))
    }

    func getDomain(_ input: Operations.GetDomain.Input) async throws -> Operations.GetDomain.Output {
        let (record, status) = try await domainRecord(input.path.domain)
        return .ok(.init(headers: .init(eTag: EntityTag.respond(record)), body: .json(Self.domain(record, dkimStatus: status))))
    }

    func removeDomain(_ input: Operations.RemoveDomain.Input) async throws -> Operations.RemoveDomain.Output {
        let (record, _) = try await domainRecord(input.path.domain)
        try EntityTag.check(input.headers.ifMatch, against: EntityTag.of(record))
        let name = try Self.domainName(record.name, refusal: .invalid)
        try await blocking { store throws(StoreError) in try store.removeDomain(name) }
        try await audit("domain.remove", record.name)
        return .noContent(.init())
    }

    private func domainRecord(_ text: String) async throws -> (DomainRecord, String?) {
        let name = try Self.domainName(text, refusal: .notFound)
        let (records, statuses) = try await blocking { store throws(StoreError) in (try store.domains(), try store.dkimStatusByDomain()) }
        guard let record = records.first(where: { $0.name == name.ascii }) else {
            throw APIProblem.notFound("\(name.ascii) is not a domain of this gateway")
        }
        return (record, statuses[record.name])
    }

    /// How a name that is not a domain (or an address) is answered: 422 in a body (the JSON
    /// is well formed, the value breaks a rule), 404 in a path or a filter (no such resource
    /// can exist).
    enum NameRefusal { case invalid, notFound }

    static func domainName(_ text: String, refusal: NameRefusal) throws -> DomainName {
        do { return try DomainName(text) } catch {
            let detail = "\(text) is not a domain name: \(error)"
            throw refusal == .invalid ? APIProblem.invalid(detail) : APIProblem.notFound(detail)
        }
    }

    static func domain(_ record: DomainRecord, dkimStatus: String?) -> Components.Schemas.Domain {
        .init(name: record.name, unicodeName: record.unicodeName,
              kind: Components.Schemas.DomainKind(rawValue: record.kind.rawValue) ?? .hosted,
              addressCount: record.addressCount, createdAt: record.createdAt, requireVerification: record.requireVerification,
              ownership: record.ownership.map { ownership in
                  .init(recordName: ownership.recordName, recordValue: ownership.recordValue,
                        status: .init(rawValue: ownership.status) ?? .pending, reason: ownership.reason, checkedAt: ownership.checkedAt)
              },
              dkimStatus: dkimStatus)
    }
}
