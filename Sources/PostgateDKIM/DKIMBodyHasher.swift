import Crypto

/// The body hash of RFC 6376 section 3.7 (`bh=`), computed while the body streams past:
/// chunks are canonicalized and hashed as they come, so a 20 MB body never sits in memory.
/// No `l=`: the whole body is always hashed.
public struct DKIMBodyHasher: Sendable {
    private var canonicalizer: DKIMBodyCanonicalizer
    private var hash = SHA256()
    private var scratch: [UInt8] = []
    /// Octets still to hash when verifying a signature with `l=`; nil hashes everything.
    private var remaining: Int?

    /// - Parameter limit: the `l=` of a signature being verified; the signer never sets it.
    public init(canonicalization: DKIMCanonicalization, limit: Int? = nil) {
        canonicalizer = DKIMBodyCanonicalizer(canonicalization)
        remaining = limit
        scratch.reserveCapacity(64 * 1024)
    }

    private mutating func hashScratch() {
        if var remaining {
            let count = min(remaining, scratch.count)
            hash.update(data: scratch[..<count])
            remaining -= count
            self.remaining = remaining
        } else {
            hash.update(data: scratch)
        }
        scratch.removeAll(keepingCapacity: true)
    }

    /// Adds the next piece of the body.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + 48 * 1024)
            canonicalizer.feed(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]), into: &scratch)
            hashScratch()
            offset = end
        }
    }

    public mutating func update(_ bytes: some Sequence<UInt8>) {
        let array = Array(bytes)
        array.withUnsafeBytes { update($0) }
    }

    /// The SHA-256 body hash; the hasher must not be used afterwards.
    public mutating func finalize() -> [UInt8] {
        canonicalizer.finish(into: &scratch)
        hashScratch()
        return Array(hash.finalize())
    }
}
