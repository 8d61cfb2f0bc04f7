/// Why a DNS question got no usable answer. Every case is a *temporary* condition for the
/// callers (DKIM's Temporary Failure, SMTP's 4xx) except `invalidServer` and `invalidName`,
/// which are configuration or input errors.
public enum DNSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No server answered within the timeout, after every retry.
    case timeout(name: String, servers: [DNSServerAddress])
    /// The server answered SERVFAIL, REFUSED or another error code (RFC 1035 section 4.1.1).
    case serverFailure(name: String, rcode: Int, server: DNSServerAddress)
    /// The answer could not be parsed, or did not match the question.
    case malformedResponse(String)
    /// A socket could not be used (address family unsupported, network unreachable…).
    case network(String)
    case invalidServer(String)
    case invalidName(String)
    case noServers

    public var description: String {
        switch self {
        case .timeout(let name, let servers):
            "DNS lookup of \(name) timed out (servers \(servers.map(\.description).joined(separator: ", ")))"
        case .serverFailure(let name, let rcode, let server):
            "DNS server \(server) answered \(DNSResponseCode.name(rcode)) for \(name)"
        case .malformedResponse(let reason):
            "malformed DNS response: \(reason)"
        case .network(let reason):
            "DNS network error: \(reason)"
        case .invalidServer(let text):
            "'\(text)' is not a DNS server address (IP, IP:PORT or [IPv6]:PORT)"
        case .invalidName(let name):
            "'\(name)' is not a valid DNS name"
        case .noServers:
            "no DNS servers configured (set dns.servers, or list nameservers in /etc/resolv.conf)"
        }
    }
}

/// The RCODE values a stub resolver distinguishes (RFC 1035 section 4.1.1, RFC 6895).
public enum DNSResponseCode {
    public static let noError = 0
    public static let formatError = 1
    public static let serverFailure = 2
    public static let nameError = 3
    public static let notImplemented = 4
    public static let refused = 5

    static func name(_ code: Int) -> String {
        switch code {
        case formatError: "FORMERR"
        case serverFailure: "SERVFAIL"
        case nameError: "NXDOMAIN"
        case notImplemented: "NOTIMP"
        case refused: "REFUSED"
        default: "RCODE \(code)"
        }
    }
}
