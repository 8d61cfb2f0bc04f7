/// The signing algorithms (`a=`): rsa-sha256 (RFC 6376 section 3.3.2) and ed25519-sha256
/// (RFC 8463 section 3). rsa-sha1 is not offered nor accepted (RFC 8301 section 3.1).
public enum DKIMAlgorithm: String, Sendable, Codable, CaseIterable {
    case rsaSHA256 = "rsa-sha256"
    case ed25519SHA256 = "ed25519-sha256"

    /// The key type (`k=`) of key records for this algorithm.
    public var keyType: String {
        switch self {
        case .rsaSHA256: "rsa"
        case .ed25519SHA256: "ed25519"
        }
    }
}
