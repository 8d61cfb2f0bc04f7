import Crypto
import _CryptoExtras
import Foundation

/// A verification key from a key record's `p=`.
public enum DKIMPublicKey: Sendable {
    case rsa(_RSA.Signing.PublicKey)
    case ed25519(Curve25519.Signing.PublicKey)

    public var algorithm: DKIMAlgorithm {
        switch self {
        case .rsa: .rsaSHA256
        case .ed25519: .ed25519SHA256
        }
    }

    /// Checks `signature` over the header-hash `digest`.
    func isValid(signature: [UInt8], for digest: SHA256Digest) -> Bool {
        switch self {
        case .rsa(let key):
            return key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: digest, padding: .insecurePKCS1v1_5)
        case .ed25519(let key):
            return key.isValidSignature(signature, for: Data(digest))
        }
    }
}

/// A DKIM key record (RFC 6376 section 3.6.1; RFC 8463 section 4 for `k=ed25519`), the
/// TXT value at `selector._domainkey.domain`.
public struct DKIMKeyRecord: Sendable {
    public let tags: DKIMTagList
    /// nil when `p=` is empty: the key was revoked (section 3.6.1).
    public let key: DKIMPublicKey?
    /// `t=y`: the domain is testing DKIM.
    public let testing: Bool

    /// - Throws: `.malformedKeyRecord` naming the tag at fault.
    public init(_ text: String) throws(DKIMError) {
        let tags: DKIMTagList
        do { tags = try DKIMTagList(text) } catch { throw .malformedKeyRecord(error.description) }
        self.tags = tags
        if let version = tags["v"] {
            guard version == "DKIM1", tags.tags.first?.name == "v" else {
                throw .malformedKeyRecord("v=\(version) is not DKIM1 (or not the first tag)")
            }
        }
        if let hashes = tags["h"], !hashes.split(separator: ":").contains(where: { $0.trimming([" ", "\t"]) == "sha256" }) {
            throw .malformedKeyRecord("h=\(hashes) does not allow sha256")
        }
        if let services = tags["s"], !services.split(separator: ":").contains(where: { ["*", "email"].contains($0.trimming([" ", "\t"])) }) {
            throw .malformedKeyRecord("s=\(services) does not allow email")
        }
        guard let p = tags.base64("p") else { throw .malformedKeyRecord("no p= tag") }
        testing = (tags["t"] ?? "").split(separator: ":").contains { $0.trimming([" ", "\t"]) == "y" }
        if p.isEmpty {
            key = nil
            return
        }
        guard let data = Data(base64Encoded: p) else { throw .malformedKeyRecord("p= is not base64") }
        key = try Self.key(type: tags["k"] ?? "rsa", data: data)
    }

    private static func key(type: String, data: Data) throws(DKIMError) -> DKIMPublicKey {
        switch type {
        case "rsa":
            do {
                let key = try _RSA.Signing.PublicKey(unsafeDERRepresentation: data)
                guard key.keySizeInBits <= 4096 else { throw DKIMError.malformedKeyRecord("RSA key of \(key.keySizeInBits) bits") }
                return .rsa(key)
            } catch {
                throw .malformedKeyRecord("p= is not an RSA public key of 1024 bits or more")
            }
        case "ed25519":
            do { return .ed25519(try Curve25519.Signing.PublicKey(rawRepresentation: data)) } catch {
                throw .malformedKeyRecord("p= is not a 32-byte Ed25519 public key")
            }
        default:
            throw .malformedKeyRecord("k=\(type) is not rsa or ed25519")
        }
    }

    /// A TXT value as DNS carries it: character-strings of at most 255 octets (RFC 1035
    /// section 3.3.14; RFC 6376 section 3.6.2.2), quoted for a zone file or a DNS panel.
    public static func zoneFileStrings(_ value: String) -> [String] {
        var strings: [String] = []
        var current = ""
        for character in value {
            if current.utf8.count + character.utf8.count > 255 {
                strings.append(current)
                current = ""
            }
            current.append(character)
        }
        if !current.isEmpty || strings.isEmpty { strings.append(current) }
        return strings
    }
}
