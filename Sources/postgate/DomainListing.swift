import Foundation
import PostgateStore
import PostgateMaildir
import PostgateDirectory

/// A domain for `postgate domain list`, with the DKIM status of its newest key.
@dynamicMemberLookup
struct DomainListing: Encodable {
    var record: DomainRecord
    /// Pending, Success, Failed, Temporary Failure; nil without a DKIM key.
    var dkimStatus: String?

    subscript<Value>(dynamicMember keyPath: KeyPath<DomainRecord, Value>) -> Value { record[keyPath: keyPath] }

    enum CodingKeys: String, CodingKey { case dkimStatus }

    func encode(to encoder: any Encoder) throws {
        try record.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(dkimStatus, forKey: .dkimStatus)
    }

    static func listings(_ records: [DomainRecord], store: MailStore) throws -> [DomainListing] {
        let statuses = try reportingFailure { () throws(StoreError) in try store.dkimStatusByDomain() }
        return records.map { DomainListing(record: $0, dkimStatus: statuses[$0.name]) }
    }
}
