import Crypto

/// The header hash of RFC 6376 section 3.7: the signed fields in `h=` order, each instance
/// taken from the bottom up, then the DKIM-Signature field itself with `b=` empty and no
/// final CRLF, all canonicalized.
enum DKIMHeaderHasher {
    static func digest(fields: [DKIMHeaderField], signedNames: [String], signatureField: [UInt8], canonicalization: DKIMCanonicalization) -> SHA256Digest {
        var hash = SHA256()
        var used: [String: Int] = [:]
        for name in signedNames {
            let instances = fields.filter { $0.name == name }
            let taken = used[name, default: 0]
            used[name] = taken + 1
            // A name listed more often than it occurs signs its absence (oversigning).
            guard taken < instances.count else { continue }
            hash.update(data: canonicalization.canonicalize(headerField: instances[instances.count - 1 - taken].raw))
        }
        var own = canonicalization.canonicalize(headerField: signatureField)
        if own.ends(with: [0x0D, 0x0A]) { own.removeLast(2) }
        hash.update(data: own)
        return hash.finalize()
    }
}
