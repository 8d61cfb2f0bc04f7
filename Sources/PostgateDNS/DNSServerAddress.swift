/// A DNS server to ask: an IPv4 or IPv6 address and a port (RFC 1035 section 4.2: port 53
/// by default). Tests point the resolver at a local server on a free loopback port.
public struct DNSServerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int = 53) {
        self.host = host
        self.port = port
    }

    /// Parses `127.0.0.1`, `127.0.0.1:5353`, `::1`, `[::1]:5353`.
    public init(_ text: String) throws(DNSError) {
        let invalid = DNSError.invalidServer(text)
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { self.init(host: host); return }
            guard rest.first == ":", let port = Int(rest.dropFirst()), (1...65535).contains(port) else { throw invalid }
            self.init(host: host, port: port)
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { throw invalid }
            self.init(host: String(text[..<colon]), port: port)
        } else {
            self.init(host: text)
        }
        guard SocketAddressBytes(host: host, port: port) != nil else { throw invalid }
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
