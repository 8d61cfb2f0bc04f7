import Crypto
import _CryptoExtras
import Foundation
import Synchronization

/// A slow salted password hash: scrypt (RFC 7914) with a random 16-byte salt per
/// password, stored with its parameters so they can be raised later without breaking
/// existing passwords.
///
/// The stored form is `scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>`; the password
/// itself is never stored. Verification compares in constant time.
public struct PasswordHash: Sendable, Equatable {
    public var cost: Int
    public var blockSize: Int
    public var parallelism: Int
    public var salt: [UInt8]
    public var hash: [UInt8]

    /// N = 2^15, r = 8, p = 1: 32 MiB and tens of milliseconds per login.
    public static let defaultCost = 1 << 15
    package static let hashLength = 32

    /// What an unknown agent's password is checked against: a hash of a random password,
    /// at the default cost, made once.
    public static let unknownAgent: PasswordHash? = {
        var generator = SystemRandomNumberGenerator()
        return try? make(String((0..<32).map { _ in Character(UnicodeScalar(UInt8.random(in: 97...122, using: &generator))) }))
    }()

    /// Hashes `password` with a new random salt.
    public static func make(_ password: String, cost: Int = defaultCost) throws -> PasswordHash {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let hash = try derive(password, salt: salt, cost: cost, blockSize: 8, parallelism: 1)
        return PasswordHash(cost: cost, blockSize: 8, parallelism: 1, salt: salt, hash: hash)
    }

    /// Parses the stored form; nil if it is not one.
    public init?(stored: String) {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "scrypt",
              let cost = Int(parts[1]), let blockSize = Int(parts[2]), let parallelism = Int(parts[3]),
              let salt = Data(base64Encoded: String(parts[4])), let hash = Data(base64Encoded: String(parts[5])),
              cost > 1, cost.nonzeroBitCount == 1, (1...32).contains(blockSize), (1...16).contains(parallelism)
        else { return nil }
        self.init(cost: cost, blockSize: blockSize, parallelism: parallelism, salt: Array(salt), hash: Array(hash))
    }

    public init(cost: Int, blockSize: Int, parallelism: Int, salt: [UInt8], hash: [UInt8]) {
        self.cost = cost
        self.blockSize = blockSize
        self.parallelism = parallelism
        self.salt = salt
        self.hash = hash
    }

    public var stored: String {
        "scrypt$\(cost)$\(blockSize)$\(parallelism)$\(Data(salt).base64EncodedString())$\(Data(hash).base64EncodedString())"
    }

    /// Whether `password` is the one this hash was made from.
    public func verify(_ password: String) -> Bool {
        guard let candidate = try? Self.derive(password, salt: salt, cost: cost, blockSize: blockSize, parallelism: parallelism),
              candidate.count == hash.count
        else { return false }
        return zip(candidate, hash).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// Counts the scrypt derivations made in the task that binds it (tests: that an unknown
    /// agent's login costs the same check as a wrong password).
    public final class DerivationCount: Sendable {
        private let value = Mutex(0)
        public init() {}
        public var count: Int { value.withLock { $0 } }
        func add() { value.withLock { $0 += 1 } }
    }

    @TaskLocal public static var derivations: DerivationCount?

    private static func derive(_ password: String, salt: [UInt8], cost: Int, blockSize: Int, parallelism: Int) throws -> [UInt8] {
        derivations?.add()
        let key = try KDF.Scrypt.deriveKey(
            from: Array(password.utf8), salt: salt, outputByteCount: hashLength,
            rounds: cost, blockSize: blockSize, parallelism: parallelism,
            maxMemory: 128 * cost * blockSize * (parallelism + 2))
        return key.withUnsafeBytes { Array($0) }
    }
}
