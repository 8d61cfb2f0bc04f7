import Foundation
import Testing
@testable import PostgateDNS

#if canImport(Glibc)
import Glibc
#endif

/// The resolver against small real servers on loopback sockets: answers, the negatives,
/// SERVFAIL, a silent server (timeout), a closed port, and TCP fallback on TC.
@Suite(.serialized)
struct DNSResolverTests {
    /// A loopback UDP (and optionally TCP) socket answering each query with `reply`.
    final class FakeServer: @unchecked Sendable {
        let port: Int
        private let udp: Int32
        private let tcp: Int32
        private let thread: Thread

        init(tcpReply: (@Sendable ([UInt8]) -> [UInt8])? = nil, udpReply: @escaping @Sendable ([UInt8]) -> [UInt8]?) {
            let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            let size = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(udp, $0, size) } }
            var length = size
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(udp, $0, &length) } }
            let tcp = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            if tcpReply != nil {
                var one: Int32 = 1
                setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
                _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(tcp, $0, size) } }
                listen(tcp, 4)
            }
            self.udp = udp
            self.tcp = tcp
            port = Int(UInt16(bigEndian: address.sin_port))
            thread = Thread {
                var buffer = [UInt8](repeating: 0, count: 4096)
                var peer = sockaddr_storage()
                var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let count = buffer.withUnsafeMutableBytes { raw in
                    withUnsafeMutablePointer(to: &peer) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(udp, raw.baseAddress, raw.count, 0, $0, &peerLength) } }
                }
                guard count > 0 else { return }
                let query = Array(buffer[0..<count])
                if let answer = udpReply(query) {
                    _ = answer.withUnsafeBytes { raw in
                        withUnsafePointer(to: &peer) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(udp, raw.baseAddress, raw.count, 0, $0, peerLength) } }
                    }
                }
                guard let tcpReply else { return }
                let connection = accept(tcp, nil, nil)
                guard connection >= 0 else { return }
                var lengthBytes = [UInt8](repeating: 0, count: 2)
                _ = recv(connection, &lengthBytes, 2, Int32(MSG_WAITALL))
                var tcpQuery = [UInt8](repeating: 0, count: Int(lengthBytes[0]) << 8 | Int(lengthBytes[1]))
                _ = recv(connection, &tcpQuery, tcpQuery.count, Int32(MSG_WAITALL))
                let answer = tcpReply(tcpQuery)
                let framed = [UInt8(answer.count >> 8), UInt8(answer.count & 0xFF)] + answer
                _ = framed.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, 0) }
                close(connection)
            }
            thread.start()
        }

        deinit {
            close(udp)
            close(tcp)
        }

        var resolver: DNSResolver {
            DNSResolver(configuration: .init(servers: [DNSServerAddress(host: "127.0.0.1", port: port)], timeout: 1, attempts: 1))
        }
    }

    @Test func answersAndNegatives() throws {
        let txt = FakeServer { DNSMessageTests.response(to: $0, answers: [(16, [2, 0x68, 0x69])]) }
        #expect(try txt.resolver.query("a.example", type: .txt) == .records([.txt([[0x68, 0x69]])]))
        let nxdomain = FakeServer { DNSMessageTests.response(to: $0, rcode: 3) }
        #expect(try nxdomain.resolver.query("a.example", type: .txt) == .nameDoesNotExist)
        let noData = FakeServer { DNSMessageTests.response(to: $0, answers: [(1, [1, 2, 3, 4])]) }
        #expect(try noData.resolver.query("a.example", type: .txt) == .noData)
    }

    @Test func serverFailureAndTimeoutAreErrors() throws {
        let servfail = FakeServer { DNSMessageTests.response(to: $0, rcode: 2) }
        #expect {
            try servfail.resolver.query("a.example", type: .txt)
        } throws: { error in
            guard case DNSError.serverFailure(_, 2, _) = error else { return false }
            return true
        }
        let silent = FakeServer { _ in nil }
        let started = Date()
        #expect {
            try silent.resolver.query("a.example", type: .txt)
        } throws: { error in
            guard case DNSError.timeout = error else { return false }
            return true
        }
        #expect(Date().timeIntervalSince(started) < 3)
    }

    @Test func truncatedAnswerIsAskedAgainOverTCP() throws {
        let server = FakeServer(tcpReply: { DNSMessageTests.response(to: $0, answers: [(16, [3, 0x74, 0x63, 0x70])]) }) {
            DNSMessageTests.response(to: $0, truncated: true)
        }
        #expect(try server.resolver.query("a.example", type: .txt) == .records([.txt([Array("tcp".utf8)])]))
    }

    @Test func answerWithAnotherIDIsIgnored() throws {
        let forger = FakeServer { query in
            var answer = DNSMessageTests.response(to: query, answers: [(16, [1, 0x78])])
            answer[0] ^= 0xFF
            return answer
        }
        #expect(throws: DNSError.self) { try forger.resolver.query("a.example", type: .txt) }
    }
}
