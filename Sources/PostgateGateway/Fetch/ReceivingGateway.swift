import Foundation
import PostgateConnectors
import PostgateDirectory
import PostgateMessage

/// A published receiving gateway as the fetcher runs it.
public struct ReceivingGateway: Sendable, Equatable {
    public var id: Int64
    /// The channel address every fetched message is delivered to.
    public var address: EmailAddress
    public var settings: ReceivingGatewaySettings

    public init(id: Int64, address: EmailAddress, settings: ReceivingGatewaySettings) {
        self.id = id
        self.address = address
        self.settings = settings
    }

    /// The schedule's policy from the settings; `retryDelay` is the gateway-wide first
    /// delay after a failure.
    func schedulePolicy(retryDelay: TimeInterval) -> FetchSchedule.Policy {
        FetchSchedule.Policy(
            maxTries: settings.maxTries, coolOff: TimeInterval(settings.coolOffMinutes) * 60,
            pollInterval: TimeInterval(settings.pollIntervalSeconds), retryDelay: retryDelay,
            skipWindows: settings.skipTimes.compactMap(SkipWindow.init),
            timeZone: TimeZone(identifier: settings.timeZone) ?? TimeZone(identifier: "UTC")!)
    }

    /// `host:port`, for messages and the trace field.
    var server: String { settings.host }
}

/// What a gateway authenticates with, its secrets opened: a password, or an OAuth 2.0
/// access token (SASL XOAUTH2 or OAUTHBEARER, RFC 7628).
public enum GatewayCredential: Sendable, Equatable {
    case password(String)
    case bearer(String, OAuthMechanism)
}

/// A fetch failure described in one line.
struct FetchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
