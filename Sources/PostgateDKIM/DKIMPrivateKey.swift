import Crypto
import _CryptoExtras
import Foundation
import SwiftASN1

/// A DKIM signing key: RSA of 1024 to 2048 bits (RFC 8301 section 3.2
/// asks verifiers for 1024 and more), or Ed25519 (RFC 8463).
public enum DKIMPrivateKey: Sendable {
    case rsa(_RSA.Signing.PrivateKey)
    case ed25519(Curve25519.Signing.PrivateKey)

    /// A new RSA key of 1024 or 2048 bits.
    public static func generateRSA(bits: Int) throws(DKIMError) -> DKIMPrivateKey {
        guard bits == 1024 || bits == 2048 else { throw .unsupportedKeySize(bits: bits) }
        do {
            return .rsa(try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: bits)))
        } catch {
            throw .malformedKey("key generation failed: \(error)")
        }
    }

    public static func generateEd25519() -> DKIMPrivateKey {
        .ed25519(Curve25519.Signing.PrivateKey())
    }

    public var algorithm: DKIMAlgorithm {
        switch self {
        case .rsa: .rsaSHA256
        case .ed25519: .ed25519SHA256
        }
    }

    /// `RSA 2048` or `Ed25519`.
    public var summary: String {
        switch self {
        case .rsa(let key): "RSA \(key.keySizeInBits)"
        case .ed25519: "Ed25519"
        }
    }

    /// PKCS#8 PEM (`BEGIN PRIVATE KEY`), the form stored in DATA/dkim/.
    public var pemRepresentation: String {
        switch self {
        case .rsa(let key):
            return key.pkcs8PEMRepresentation
        case .ed25519(let key):
            let der = Self.ed25519PKCS8Prefix + Array(key.rawRepresentation)
            return PEMDocument(type: "PRIVATE KEY", derBytes: der).pemString + "\n"
        }
    }

    /// The `p=` value of the key record: base64 of the SubjectPublicKeyInfo for RSA
    /// (RFC 6376 section 3.6.1), of the raw 32-byte public key for Ed25519 (RFC 8463 section 4.2).
    public var publicKeyBase64: String {
        switch self {
        case .rsa(let key): key.publicKey.derRepresentation.base64EncodedString()
        case .ed25519(let key): key.publicKey.rawRepresentation.base64EncodedString()
        }
    }

    /// The TXT record value to publish at `selector._domainkey.domain` (section 3.6.1).
    public var keyRecord: String {
        "v=DKIM1; k=\(algorithm.keyType); p=\(publicKeyBase64)"
    }

    /// Signs the SHA-256 hash of the canonicalized header data (section 3.7; RFC 8463
    /// section 3: Ed25519 signs that hash, not the data).
    func sign(_ digest: SHA256Digest) throws(DKIMError) -> [UInt8] {
        do {
            switch self {
            case .rsa(let key):
                return Array(try key.signature(for: digest, padding: .insecurePKCS1v1_5).rawRepresentation)
            case .ed25519(let key):
                return Array(try key.signature(for: Data(digest)))
            }
        } catch {
            throw .malformedKey("signing failed: \(error)")
        }
    }

    // MARK: - Import

    /// Reads a PEM private key: RSA as PKCS#1 (`BEGIN RSA PRIVATE KEY`) or PKCS#8 (`BEGIN
    /// PRIVATE KEY`) of 1024 to 2048 bits, or Ed25519 as PKCS#8.
    /// - Throws: a `DKIMError` naming what is wrong: not PEM, encrypted, EC or another
    ///   type, the RSA size out of range, damaged content.
    public init(pem text: String) throws(DKIMError) {
        let document: PEMDocument
        do {
            document = try PEMDocument(pemString: text.trimming([" ", "\n", "\r", "\t", "\r\n"]))
        } catch {
            throw .notPEM("no '-----BEGIN … PRIVATE KEY-----' block could be read")
        }
        switch document.discriminator {
        case "RSA PRIVATE KEY":
            self = try Self.rsa(pkcs1: document.derBytes[...], pem: text)
        case "PRIVATE KEY":
            self = try Self.pkcs8(document.derBytes, pem: text)
        case "ENCRYPTED PRIVATE KEY":
            throw .encryptedKey
        case "EC PRIVATE KEY":
            throw .unsupportedKeyType("EC (ECDSA)")
        case "DSA PRIVATE KEY":
            throw .unsupportedKeyType("DSA")
        case let other where other.contains("PUBLIC KEY") || other.contains("CERTIFICATE"):
            throw .notPEM("the file holds a \(other), not a private key")
        case let other:
            throw .notPEM("unexpected PEM block '\(other)'")
        }
    }

    private static let rsaOID: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]
    private static let ed25519OID: [UInt8] = [0x06, 0x03, 0x2B, 0x65, 0x70]
    private static let ecOID: [UInt8] = [0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]
    private static let ed25519PKCS8Prefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]

    /// PrivateKeyInfo (RFC 5208): version, AlgorithmIdentifier, OCTET STRING key.
    private static func pkcs8(_ der: [UInt8], pem: String) throws(DKIMError) -> DKIMPrivateKey {
        let children = try sequenceChildren(der[...], what: "PKCS#8 PrivateKeyInfo")
        guard children.count >= 3, case .primitive(let keyBytes) = children[2].content else {
            throw .malformedKey("PKCS#8 PrivateKeyInfo lacks its key")
        }
        let algorithm = Array(children[1].encodedBytes)
        if algorithm.contains(subsequence: rsaOID) { return try rsa(pkcs1: keyBytes, pem: pem) }
        if algorithm.contains(subsequence: ed25519OID) {
            // CurvePrivateKey ::= OCTET STRING (RFC 8410 section 7): the 32-byte seed.
            guard keyBytes.count == 34, keyBytes.first == 0x04, keyBytes[keyBytes.startIndex + 1] == 32 else {
                throw .malformedKey("the Ed25519 key is not 32 bytes")
            }
            do {
                return .ed25519(try Curve25519.Signing.PrivateKey(rawRepresentation: keyBytes.dropFirst(2)))
            } catch {
                throw .malformedKey("Ed25519: \(error)")
            }
        }
        if algorithm.contains(subsequence: ecOID) { throw .unsupportedKeyType("EC (ECDSA)") }
        throw .unsupportedKeyType("this PKCS#8 key's algorithm")
    }

    /// RSAPrivateKey (RFC 8017 appendix A.1.2): the size is read from the modulus first, so
    /// a key out of range is named with its size.
    private static func rsa(pkcs1 der: ArraySlice<UInt8>, pem: String) throws(DKIMError) -> DKIMPrivateKey {
        let children = try sequenceChildren(der, what: "PKCS#1 RSAPrivateKey")
        guard children.count >= 2, case .primitive(let modulus) = children[1].content else {
            throw .malformedKey("the RSA key lacks its modulus")
        }
        let bits = bitCount(modulus)
        guard (1024...2048).contains(bits) else { throw .rsaKeySize(bits: bits) }
        do {
            return .rsa(try _RSA.Signing.PrivateKey(unsafeDERRepresentation: Array(der)))
        } catch {
            throw .malformedKey("the RSA key could not be read: \(error)")
        }
    }

    private static func sequenceChildren(_ der: ArraySlice<UInt8>, what: String) throws(DKIMError) -> [ASN1Node] {
        do {
            let node = try DER.parse(der)
            guard case .constructed(let children) = node.content else { throw DKIMError.malformedKey("\(what) is not a SEQUENCE") }
            return Array(children)
        } catch let error as DKIMError {
            throw error
        } catch {
            throw .malformedKey("\(what) is not valid DER: \(error)")
        }
    }

    private static func bitCount(_ integer: ArraySlice<UInt8>) -> Int {
        let bytes = integer.drop { $0 == 0 }
        guard let first = bytes.first else { return 0 }
        return (bytes.count - 1) * 8 + (8 - first.leadingZeroBitCount)
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool {
        guard subsequence.count <= count else { return false }
        return (0...(count - subsequence.count)).contains { start in
            self[start..<(start + subsequence.count)].elementsEqual(subsequence)
        }
    }
}
