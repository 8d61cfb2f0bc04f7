/// One SMTP server to deliver to: where, and with what TLS and AUTH.
public struct SMTPEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// The host name (for TLS server name and certificate checks) or an IP address.
    public var host: String
    /// The address to connect to; nil connects to `host` (resolved by the system).
    public var address: String?
    public var port: Int
    public var tls: SMTPTLSPolicy
    public var credentials: SMTPCredentials?

    public init(host: String, address: String? = nil, port: Int = 25, tls: SMTPTLSPolicy = .opportunistic, credentials: SMTPCredentials? = nil) {
        self.host = host
        self.address = address
        self.port = port
        self.tls = tls
        self.credentials = credentials
    }

    public var description: String {
        let target = address.map { "\(host)[\($0)]" } ?? host
        return "\(target):\(port)"
    }
}
