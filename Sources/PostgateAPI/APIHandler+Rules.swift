import Foundation
import PostgateCSV
import PostgateDirectory
import PostgateMaildir
import PostgateMessage
import PostgatePolicy
import PostgateStore

/// Filters, blocklists and DKIM keys: the rules around an address's mail.
extension APIHandler {
    func listFilters(_ input: Operations.ListFilters.Input) async throws -> Operations.ListFilters.Output {
        let email = try Self.emailAddress(input.path.email, refusal: .notFound)
        let rules = try await blocking { store throws(StoreError) in try store.filters(of: email) }
        return .ok(.init(body: .json(rules.map(Self.filter))))
    }

    func addFilter(_ input: Operations.AddFilter.Input) async throws -> Operations.AddFilter.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("the body must be JSON") }
        let email = try Self.emailAddress(input.path.email, refusal: .notFound)
        guard let field = FilterRule.Field(rawValue: body.field.rawValue) else { throw APIProblem.invalid("\(body.field) is not a filter field") }
        let rule = try await blocking { store throws(StoreError) in
            try store.addFilter(to: email, field: field, keyword: body.keyword, queue: body.queue, position: body.position)
        }
        try await audit("filter.add", email.canonical, "\(rule.id): \(rule.field.rawValue) \"\(rule.keyword)\" → \(rule.queue)")
        return .created(.init(body: .json(Self.filter(rule))))
    }

    func removeFilter(_ input: Operations.RemoveFilter.Input) async throws -> Operations.RemoveFilter.Output {
        let email = try Self.emailAddress(input.path.email, refusal: .notFound)
        let id = input.path.id
        try await blocking { store throws(StoreError) in try store.removeFilter(id, of: email) }
        try await audit("filter.remove", email.canonical, String(id))
        return .noContent(.init())
    }

    func listBlocklist(_ input: Operations.ListBlocklist.Input) async throws -> Operations.ListBlocklist.Output {
        let email = try Self.emailAddress(input.path.email, refusal: .notFound)
        let entries = try await blocking { store throws(StoreError) in try store.blocklist(of: email) }
        let page = try Pagination.page(entries.sorted { $0.value < $1.value }, key: \.value, limit: input.query.limit, cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.blocklistEntry), nextCursor: page.next))))
    }

    func addToBlocklist(_ input: Operations.AddToBlocklist.Input) async throws -> Operations.AddToBlocklist.Output {
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("the body must be JSON") }
        let email = try Self.emailAddress(input.path.email, refusal: .notFound)
        let entries = try body.entries.map { text in
            do { return try BlocklistEntry(parsing: text) } catch { throw APIProblem.invalid("\(text) is not a sender address or domain: \(error)") }
        }
        let added = try await blocking { store throws(StoreError) in try store.addToBlocklist(entries, of: email) }
        try await audit("blocklist.add", email.canonical, added.map(\.entry).joined(separator: ", "))
        return .created(.init(body: .json(added.map(Self.blocklistEntry))))
    }

    /// The CSV import of `postgate blocklist import`: the whole body is validated first, then
    /// every valid row is saved in one transaction (none with `dryRun`).
    func importBlocklist(_ input: Operations.ImportBlocklist.Input) async throws -> Operations.ImportBlocklist.Output {
        guard case .csv(let body) = input.body else { throw APIProblem.badRequest("the body must be text/csv") }
        let email = try Self.emailAddress(input.path.email, refusal: .notFound)
        let bytes = try await [UInt8](collecting: body, upTo: .max)
        let (column, dryRun) = (input.query.column, input.query.dryRun ?? false)
        let report = try await blocking { store throws(StoreError) -> BlocklistImportReport in
            var validator = BlocklistImportValidator(column: column, existing: try store.blocklistValues(of: email))
            var report: BlocklistImportReport
            do {
                var parser = CSVParser()
                try parser.parse(bytes) { try validator.take($0) }
                try parser.finish { try validator.take($0) }
                report = try validator.finish()
            } catch {
                throw .invalidSetting("the CSV file: \(error)")
            }
            report.dryRun = dryRun
            if !dryRun, !report.valid.isEmpty {
                _ = try store.addToBlocklist(report.entries, of: email)
                report.saved = true
            }
            return report
        }
        if report.saved { try await audit("blocklist.import", email.canonical, "\(report.valid.count) entries") }
        func issues(_ list: [BlocklistImportReport.Issue]) -> [Components.Schemas.BlocklistImportIssue] {
            list.map { .init(line: $0.line, text: $0.text, reason: $0.reason) }
        }
        return .ok(.init(body: .json(.init(
            column: report.column, rows: report.rows, valid: report.valid.map { Components.Schemas.BlocklistImportReport.ValidPayloadPayload(line: $0.line, entry: $0.entry.display) },
            duplicatesInFile: issues(report.duplicatesInFile), alreadyListed: issues(report.alreadyListed), errors: issues(report.errors),
            saved: report.saved, dryRun: report.dryRun))))
    }

    func removeFromBlocklist(_ input: Operations.RemoveFromBlocklist.Input) async throws -> Operations.RemoveFromBlocklist.Output {
        let email = try Self.emailAddress(input.path.email, refusal: .notFound)
        let text = input.path.entry.removingPercentEncoding ?? input.path.entry
        let entry: BlocklistEntry
        do { entry = try BlocklistEntry(parsing: text) } catch { throw APIProblem.notFound("\(text) is not a blocked sender of \(email.canonical)") }
        try await blocking { store throws(StoreError) in try store.removeFromBlocklist(entry, of: email) }
        try await audit("blocklist.remove", email.canonical, text)
        return .noContent(.init())
    }

    func listDKIMKeys(_ input: Operations.ListDKIMKeys.Input) async throws -> Operations.ListDKIMKeys.Output {
        let keys = try await blocking { store throws(StoreError) in try store.dkimKeys() }
        return .ok(.init(body: .json(keys.map { key in
            Components.Schemas.DKIMKey(domain: key.domain, selector: key.selector, algorithm: key.algorithm, recordName: key.recordName,
                                       publicRecord: key.publicRecord, status: .init(rawValue: key.status) ?? .pending,
                                       statusReason: key.statusReason, firstSeenAt: key.firstSeenAt, lastCheckAt: key.lastCheckAt,
                                       nextCheckAt: key.nextCheckAt, checkCount: key.checkCount)
        })))
    }

    static func filter(_ rule: FilterRule) -> Components.Schemas.Filter {
        .init(id: rule.id, position: rule.position, field: .init(rawValue: rule.field.rawValue) ?? .subject, keyword: rule.keyword,
              queue: rule.queue, createdAt: rule.createdAt)
    }

    static func blocklistEntry(_ record: BlocklistRecord) -> Components.Schemas.BlocklistEntry {
        .init(kind: record.kind == .domain ? .domain : .address, entry: record.entry, value: record.value, createdAt: record.createdAt)
    }
}
