import Foundation
import PostgateDirectory
import PostgateIndex
import PostgateMaildir
import PostgateStore

/// An address for `postgate address list`, with one health indicator and when its last
/// message arrived.
struct AddressListing: Encodable {
    enum Health: String, Encodable, CaseIterable {
        /// Enabled, and nothing needs the administrator.
        case active = "Active"
        /// Disabled.
        case inactive = "Inactive"
        /// Enabled, but a gateway fails, or the custom domain's DKIM record or ownership is
        /// not verified.
        case attention = "Attention"
    }

    var record: AddressRecord
    var health: Health
    /// Why the address needs attention, one phrase each.
    var reasons: [String]
    var lastMessageAt: Date?
    /// How many routing filters the address has (`postgate filter list`).
    var filterCount: Int

    private enum CodingKeys: String, CodingKey { case health, healthReasons, lastMessageAt, filterCount }

    func encode(to encoder: any Encoder) throws {
        try record.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(health, forKey: .health)
        try c.encode(reasons, forKey: .healthReasons)
        try c.encode(lastMessageAt, forKey: .lastMessageAt)
        try c.encode(filterCount, forKey: .filterCount)
    }

    static func listings(_ records: [AddressRecord], store: MailStore) throws -> [AddressListing] {
        let (dkim, domains, gateways, last, filters) = try reportingFailure { () throws(StoreError) in
            (try store.dkimStatusByDomain(), try store.domains(), try store.gatewayListings(), try store.lastMessageDates(),
             try store.filterCounts())
        }
        let domainsByName = Dictionary(domains.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        return records.map { record in
            var reasons: [String] = []
            for gateway in gateways where gateway.address == record.email {
                if let state = gateway.state?.state, [.failing, .failed, .coolingOff].contains(state) {
                    reasons.append("\(gateway.direction.rawValue) gateway \(state.rawValue)")
                }
            }
            let domainName = String(record.email.split(separator: "@").last ?? "")
            if let domain = domainsByName[domainName], domain.kind != .hosted {
                if dkim[domain.name] != "Success" { reasons.append("DKIM \(dkim[domain.name] ?? "no key")") }
                if domain.requireVerification, let ownership = domain.ownership, ownership.status != "Success" {
                    reasons.append("ownership \(ownership.status)")
                }
            }
            let health: Health = !record.enabled ? .inactive : reasons.isEmpty ? .active : .attention
            return AddressListing(record: record, health: health, reasons: reasons, lastMessageAt: last[record.mailboxPath],
                                  filterCount: filters[record.mailboxPath] ?? 0)
        }
    }
}
