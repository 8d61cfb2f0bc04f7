import Foundation

/// A stub resolver (RFC 1035 section 7, RFC 7766): asks the configured recursive servers
/// over UDP, and again over TCP when the answer is truncated (TC bit).
///
/// Queries block (at most `timeout × attempts × servers` seconds), so call them from a
/// thread pool, not from an event loop or a task: in the gateway its `NIOThreadPool`, to
/// which `DNSOutboundResolver` hands the delivery worker's lookups.
public struct DNSResolver: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// The servers, tried in order; empty means the `nameserver` lines of /etc/resolv.conf.
        public var servers: [DNSServerAddress]
        /// Seconds to wait for one answer.
        public var timeout: Double
        /// Rounds over the server list before giving up.
        public var attempts: Int

        public init(servers: [DNSServerAddress] = [], timeout: Double = 5, attempts: Int = 2) {
            self.servers = servers
            self.timeout = timeout
            self.attempts = attempts
        }
    }

    public let configuration: Configuration
    /// The servers actually asked (configured, else from /etc/resolv.conf).
    public let servers: [DNSServerAddress]

    private static let udpLimit = 512
    private static let tcpLimit = 65535

    /// With no servers configured, reads /etc/resolv.conf: blocks.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.servers = configuration.servers.isEmpty ? Self.systemServers() : configuration.servers
    }

    /// Asks for `type` records of `name`.
    /// - Returns: the records, or `.nameDoesNotExist` (NXDOMAIN) or `.noData`.
    /// - Throws: `.serverFailure` (SERVFAIL, REFUSED…), `.timeout`, `.network`, `.malformedResponse`
    ///   — all temporary: the caller may retry later.
    public func query(_ name: String, type: DNSRecordType) throws(DNSError) -> DNSAnswer {
        guard !servers.isEmpty else { throw .noServers }
        let question = name.hasSuffix(".") ? String(name.dropLast()) : name
        var lastError = DNSError.timeout(name: question, servers: servers)
        for _ in 0..<max(1, configuration.attempts) {
            for server in servers {
                do {
                    return try ask(server, name: question, type: type)
                } catch {
                    if case .invalidName = error { throw error }
                    if case .timeout = error { lastError = .timeout(name: question, servers: servers) } else { lastError = error }
                }
            }
        }
        throw lastError
    }

    private func ask(_ server: DNSServerAddress, name: String, type: DNSRecordType) throws(DNSError) -> DNSAnswer {
        let id = UInt16.random(in: 0...UInt16.max)
        let query = try DNSMessageEncoder.query(id: id, name: name, type: type)
        var response = try askUDP(server, query: query, id: id, name: name, type: type)
        if response.truncated {
            response = try askTCP(server, query: query, id: id, name: name, type: type)
        }
        return try answer(response, server: server, name: name, type: type)
    }

    private func askUDP(_ server: DNSServerAddress, query: [UInt8], id: UInt16, name: String, type: DNSRecordType) throws(DNSError) -> DNSMessageDecoder.Response {
        let socket = try DNSSocket(server: server, stream: false, timeout: configuration.timeout)
        try socket.send(query)
        // Datagrams that do not answer this question (late answers to an earlier try, or
        // forgeries) are skipped; the receive timeout bounds the wait.
        while true {
            let bytes = try socket.receive(maximum: Self.udpLimit * 8)
            if let response = try? DNSMessageDecoder.decode(bytes), Self.matches(response, id: id, name: name, type: type) {
                return response
            }
        }
    }

    private func askTCP(_ server: DNSServerAddress, query: [UInt8], id: UInt16, name: String, type: DNSRecordType) throws(DNSError) -> DNSMessageDecoder.Response {
        let socket = try DNSSocket(server: server, stream: true, timeout: configuration.timeout)
        try socket.send([UInt8(query.count >> 8), UInt8(query.count & 0xFF)] + query)
        let prefix = try socket.receiveExactly(2)
        let length = Int(prefix[0]) << 8 | Int(prefix[1])
        let response = try DNSMessageDecoder.decode(try socket.receiveExactly(length))
        guard Self.matches(response, id: id, name: name, type: type) else {
            throw .malformedResponse("TCP answer from \(server) does not match the question")
        }
        return response
    }

    private static func matches(_ response: DNSMessageDecoder.Response, id: UInt16, name: String, type: DNSRecordType) -> Bool {
        guard response.id == id, let question = response.question else { return false }
        return question.type == type.rawValue && question.name == name.lowercased()
    }

    private func answer(_ response: DNSMessageDecoder.Response, server: DNSServerAddress, name: String, type: DNSRecordType) throws(DNSError) -> DNSAnswer {
        switch response.rcode {
        case DNSResponseCode.noError:
            let records = response.answers.map(\.record).filter { Self.type(of: $0) == type }
            return records.isEmpty ? .noData : .records(records)
        case DNSResponseCode.nameError:
            return .nameDoesNotExist
        default:
            throw .serverFailure(name: name, rcode: response.rcode, server: server)
        }
    }

    private static func type(of record: DNSRecord) -> DNSRecordType {
        switch record {
        case .txt: .txt
        case .a: .a
        case .aaaa: .aaaa
        case .mx: .mx
        case .cname: .cname
        }
    }

    /// The `nameserver` lines of /etc/resolv.conf (resolv.conf(5)).
    static func systemServers(path: String = "/etc/resolv.conf") -> [DNSServerAddress] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(whereSeparator: \.isNewline).compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, fields[0] == "nameserver" else { return nil }
            let host = String(fields[1].split(separator: "%").first ?? fields[1])
            return SocketAddressBytes(host: host, port: 53) == nil ? nil : DNSServerAddress(host: host)
        }
    }
}
