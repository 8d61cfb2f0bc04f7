/// One SMTP server to deliver to: where, and with what TLS and AUTH.
public struct SMTPEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// The host name (for TLS server name and certificate checks) or an IP address.
    public var host: String
    /// The address to connect to; nil connects to `host` (resolved by the system).
    public var address: String?
    public var port: Int
    public var tls: SMTPTLSPolicy
    public var credentials: SMTPCredentials?
    /// TLS from the first byte (submissions, RFC 8314 section 3.3; port 465) instead of
    /// STARTTLS; `tls` must then not be `.none`.
    public var implicitTLS: Bool
    /// A PEM file of CA certificates trusted for this server (a provider with a private
    /// CA); nil uses the client's configuration.
    public var trustRootsFile: String?

    public init(host: String, address: String? = nil, port: Int = 25, tls: SMTPTLSPolicy = .opportunistic, credentials: SMTPCredentials? = nil,
                implicitTLS: Bool = false, trustRootsFile: String? = nil) {
        self.host = host
        self.address = address
        self.port = port
        self.tls = tls
        self.credentials = credentials
        self.implicitTLS = implicitTLS
        self.trustRootsFile = trustRootsFile
    }

    public var description: String {
        let target = address.map { "\(host)[\($0)]" } ?? host
        return "\(target):\(port)"
    }
}
