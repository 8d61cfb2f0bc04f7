#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One blocking socket to one DNS server, with send and receive timeouts. The resolver
/// runs on a thread pool (never on an event loop), so blocking calls are the simple choice.
final class DNSSocket {
    private let descriptor: Int32
    let server: DNSServerAddress

    /// Opens a UDP (`stream == false`) or TCP socket connected to `server`.
    init(server: DNSServerAddress, stream: Bool, timeout: Double) throws(DNSError) {
        guard let address = SocketAddressBytes(host: server.host, port: server.port) else { throw .invalidServer(server.description) }
        #if canImport(Glibc)
        let type = Int32(stream ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue)
        #else
        let type = stream ? SOCK_STREAM : SOCK_DGRAM
        #endif
        let descriptor = socket(address.family, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw .network("socket: \(String(cString: strerror(errno)))") }
        self.descriptor = descriptor
        self.server = server
        var interval = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
        if let error = address.connect(descriptor) {
            throw Self.failure(error, "connect to \(server)")
        }
    }

    deinit {
        close(descriptor)
    }

    func send(_ bytes: [UInt8]) throws(DNSError) {
        var sent = 0
        while sent < bytes.count {
            let result = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if result < 0 {
                if errno == EINTR { continue }
                throw Self.failure(errno, "send to \(server)")
            }
            sent += result
        }
    }

    /// One datagram (UDP), or whatever bytes arrived (TCP); empty at TCP end of stream.
    func receive(maximum: Int) throws(DNSError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maximum)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count >= 0 { return Array(buffer[0..<count]) }
            if errno == EINTR { continue }
            throw Self.failure(errno, "receive from \(server)")
        }
    }

    /// Exactly `count` bytes from a TCP stream.
    func receiveExactly(_ count: Int) throws(DNSError) -> [UInt8] {
        var bytes: [UInt8] = []
        while bytes.count < count {
            let chunk = try receive(maximum: count - bytes.count)
            guard !chunk.isEmpty else { throw .malformedResponse("\(server) closed the TCP connection mid-answer") }
            bytes += chunk
        }
        return bytes
    }

    /// Timeouts surface as `.timeout` (the caller knows the name); the rest as `.network`.
    static func failure(_ code: Int32, _ operation: String) -> DNSError {
        if code == EAGAIN || code == EWOULDBLOCK || code == ETIMEDOUT || code == EINPROGRESS {
            return .timeout(name: "", servers: [])
        }
        return .network("\(operation): \(String(cString: strerror(code)))")
    }
}
