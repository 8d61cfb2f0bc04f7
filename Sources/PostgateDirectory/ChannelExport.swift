import Foundation
import PostgatePolicy

/// The channel configuration of a data directory, as `postgate export` writes it and
/// `postgate import` reads it: domains with their kinds, queues, every address with its
/// published settings and pending draft, the filters, the blocklists and the mailbox
/// connectors. No passwords, keys, connector secrets or messages.
///
/// Importing an export into an empty data directory and exporting again gives the same
/// document apart from `exportedAt` (a lossless round trip) and `gateways`: the connectors
/// are written for reference without their secrets, so they are not imported; set them again
/// with `postgate connector set`.
public struct ChannelExport: Sendable, Codable, Equatable {
    public static let formatName = "postgate-channels"
    public static let currentVersion = 1

    public var format = Self.formatName
    public var version = Self.currentVersion
    public var exportedAt = Date()
    public var domains: [Domain] = []
    public var queues: [Queue] = []
    public var addresses: [Address] = []
    public var filters: [Filter] = []
    /// Every receiving address's blocklist entries, by address and entry. Nil in a document
    /// written before blocklists were exported: importing it leaves blocklists as they are.
    public var blocklist: [Blocked]?
    /// The mailbox connectors, one entry per address and direction, without their secrets
    /// (password, OAuth client secret and refresh token). Not read by `postgate import`.
    public var gateways: [Gateway]?

    public struct Domain: Sendable, Codable, Equatable {
        public var name: String
        public var kind: DomainKind
    }

    public struct Queue: Sendable, Codable, Equatable {
        public var name: String
        public var description: String?
        /// True when `\Seen` is per agent in the queue's folder; absent means shared.
        public var privateSeen: Bool?
    }

    public struct Address: Sendable, Codable, Equatable {
        public var email: String
        public var settings: ChannelSettings
        public var draft: ChannelSettings?
    }

    public struct Filter: Sendable, Codable, Equatable {
        public var address: String
        public var position: Int
        public var field: FilterRule.Field
        public var keyword: String
        public var queue: String
    }

    /// One blocklist entry of a receiving address: `entry` as `postgate blocklist add`
    /// takes it (`bob@bücher.example`, `spam.example`), `kind` what it must parse as.
    public struct Blocked: Sendable, Codable, Equatable {
        public var address: String
        public var kind: BlocklistEntry.Kind
        public var entry: String

        public init(address: String, kind: BlocklistEntry.Kind, entry: String) {
            self.address = address
            self.kind = kind
            self.entry = entry
        }
    }

    /// A gateway of an address as exported: in one direction, published and draft settings
    /// with every secret removed.
    public struct Gateway: Sendable, Codable, Equatable {
        public var address: String
        public var receiving: ReceivingGatewaySettings?
        public var receivingDraft: ReceivingGatewaySettings?
        public var sending: SendingGatewaySettings?
        public var sendingDraft: SendingGatewaySettings?

        public init(address: String) {
            self.address = address
        }
    }

    public init() {}
}

/// What `postgate import` did (or, with --dry-run, would do).
public struct ImportReport: Sendable, Codable, Equatable {
    public var domainsAdded: [String] = []
    public var queuesAdded: [String] = []
    public var addressesAdded: [String] = []
    public var addressesUpdated: [String] = []
    public var filtersWritten = 0
    public var blocklistEntriesWritten = 0
    public var dryRun = false
}
