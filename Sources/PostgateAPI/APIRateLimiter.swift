import Foundation
import Synchronization

/// Requests per minute per token: a token bucket per token that holds a minute's requests and
/// refills continuously, so a token may burst up to its rate and then goes at its rate.
/// Memory is bounded by the number of live tokens that made requests.
final class APIRateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Double
    }

    private let buckets = Mutex<[String: Bucket]>([:])
    private let now: @Sendable () -> Double

    init(now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.now = now
    }

    /// Takes one request from the bucket of token `id`.
    /// - Returns: nil when admitted, else the seconds until a request is allowed again.
    func admit(_ id: String, perMinute rate: Int) -> Int? {
        let t = now()
        let capacity = Double(max(1, rate))
        let perSecond = capacity / 60
        return buckets.withLock { buckets in
            var bucket = buckets[id] ?? Bucket(tokens: capacity, updated: t)
            bucket.tokens = min(capacity, bucket.tokens + max(0, t - bucket.updated) * perSecond)
            bucket.updated = t
            defer { buckets[id] = bucket }
            guard bucket.tokens >= 1 else { return max(1, Int(((1 - bucket.tokens) / perSecond).rounded(.up))) }
            bucket.tokens -= 1
            return nil
        }
    }
}
