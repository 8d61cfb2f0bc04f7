/// What is wrong with a key, a key file, a signature field or a key record, in one line an
/// administrator (or an Authentication-Results reason) can act on.
public enum DKIMError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformedTagList(String)
    case notPEM(String)
    case encryptedKey
    case unsupportedKeyType(String)
    case rsaKeySize(bits: Int)
    case unsupportedKeySize(bits: Int)
    case malformedKey(String)
    case malformedSignature(String)
    case malformedKeyRecord(String)
    case io(String)

    public var description: String {
        switch self {
        case .malformedTagList(let reason): "malformed tag list: \(reason)"
        case .notPEM(let reason): "not a PEM private key: \(reason)"
        case .encryptedKey: "the key is encrypted (ENCRYPTED PRIVATE KEY); decrypt it first, e.g. `openssl pkey -in KEY -out PLAIN`"
        case .unsupportedKeyType(let type): "\(type) keys are not supported; use an RSA key of 1024 to 2048 bits (PKCS#1 or PKCS#8 PEM) or Ed25519"
        case .rsaKeySize(let bits): "the RSA key has \(bits) bits; DKIM keys must have 1024 to 2048 bits"
        case .unsupportedKeySize(let bits): "cannot generate an RSA key of \(bits) bits; choose 1024 or 2048"
        case .malformedKey(let reason): "malformed private key: \(reason)"
        case .malformedSignature(let reason): "malformed DKIM-Signature: \(reason)"
        case .malformedKeyRecord(let reason): "malformed DKIM key record: \(reason)"
        case .io(let reason): reason
        }
    }
}
