/// What every outbound SMTP session of this gateway shares.
public struct SMTPClientConfiguration: Sendable, Equatable {
    /// The name given in EHLO/HELO (RFC 5321 section 4.1.1.1: the client's FQDN).
    public var heloName: String
    /// Check the server's certificate chain and name. Off only for tests.
    public var verifyCertificates: Bool
    /// PEM file of trusted roots instead of the system's; empty for the system's.
    public var trustRootsFile: String
    public var timeouts: SMTPClientTimeouts

    public init(heloName: String, verifyCertificates: Bool = true, trustRootsFile: String = "", timeouts: SMTPClientTimeouts = SMTPClientTimeouts()) {
        self.heloName = heloName
        self.verifyCertificates = verifyCertificates
        self.trustRootsFile = trustRootsFile
        self.timeouts = timeouts
    }
}
