import Foundation

/// The verification statuses of a domain's DKIM record, named as `postgate dkim show` prints them.
public enum DKIMVerificationStatus: String, Sendable, Codable, CaseIterable {
    /// No record published yet (NXDOMAIN or no TXT), within the window.
    case pending = "Pending"
    /// The record is published and carries this key.
    case success = "Success"
    /// A record is present but wrong or malformed, or nothing valid after the window (72 h).
    case failed = "Failed"
    /// DNS error or timeout; retried automatically.
    case temporaryFailure = "Temporary Failure"
}

/// Decides a key's verification status from one DNS check (a value type: no I/O, no
/// clock; the caller passes `now`), and when to check again: a backoff schedule from
/// `initialInterval`, doubling up to `maxInterval`, until Success or until `window` (72 h)
/// after the key was first seen, when a key still not verified is Failed for good.
public struct DKIMDomainVerification: Sendable, Equatable {
    public var window: Double
    public var initialInterval: Double
    public var maxInterval: Double

    public init(window: Double = 72 * 3600, initialInterval: Double = 60, maxInterval: Double = 3600) {
        self.window = window
        self.initialInterval = initialInterval
        self.maxInterval = maxInterval
    }

    public struct Outcome: Sendable, Equatable {
        public var status: DKIMVerificationStatus
        public var reason: String?
        /// Seconds since 1970 of the next automatic check; nil when the status is final.
        public var nextCheck: Double?
    }

    /// - Parameters:
    ///   - expectedPublicKey: the `p=` this key publishes (base64).
    ///   - firstSeen, now: seconds since 1970.
    ///   - checksSoFar: checks already made, for the backoff.
    public func evaluate(_ lookup: DKIMKeyLookupResult, expectedPublicKey: String, algorithm: DKIMAlgorithm, firstSeen: Double, now: Double, checksSoFar: Int) -> Outcome {
        let (status, reason) = Self.status(of: lookup, expectedPublicKey: expectedPublicKey, algorithm: algorithm)
        if status == .success { return Outcome(status: .success, reason: nil, nextCheck: nil) }
        let deadline = firstSeen + window
        guard now < deadline else {
            let why = reason.map { "not verified within \(Self.duration(window)): \($0)" } ?? "no record within \(Self.duration(window))"
            return Outcome(status: .failed, reason: why, nextCheck: nil)
        }
        let delay = min(maxInterval, initialInterval * pow2(min(checksSoFar, 30)))
        return Outcome(status: status, reason: reason, nextCheck: min(now + delay, deadline))
    }

    static func status(of lookup: DKIMKeyLookupResult, expectedPublicKey: String, algorithm: DKIMAlgorithm) -> (DKIMVerificationStatus, String?) {
        switch lookup {
        case .none:
            return (.pending, nil)
        case .temporaryFailure(let reason):
            return (.temporaryFailure, reason)
        case .records(let records):
            var problems: [String] = []
            for text in records {
                do {
                    let record = try DKIMKeyRecord(text)
                    if record.tags.base64("p") == expectedPublicKey && (record.tags["k"] ?? "rsa") == algorithm.keyType {
                        return (.success, nil)
                    }
                    problems.append(record.key == nil ? "the record revokes the key (empty p=)" : "the record's p= is not this key")
                } catch {
                    problems.append(error.description)
                }
            }
            return (.failed, problems.first ?? "empty TXT record")
        }
    }

    private func pow2(_ exponent: Int) -> Double { Double(1 << exponent) }

    /// `72 hours`, or `8 seconds` for a window that is not whole hours (tests).
    private static func duration(_ seconds: Double) -> String {
        if seconds >= 3600, seconds.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(seconds / 3600)) hours" }
        return "\(Int(seconds)) seconds"
    }
}
