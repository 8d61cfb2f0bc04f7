#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A numeric IPv4 or IPv6 socket address, ready for `connect(2)`.
struct SocketAddressBytes {
    let family: Int32
    private let storage: sockaddr_storage
    private let length: socklen_t

    init?(host: String, port: Int) {
        var ipv4 = sockaddr_in()
        var ipv6 = sockaddr_in6()
        if inet_pton(AF_INET, host, &ipv4.sin_addr) == 1 {
            ipv4.sin_family = sa_family_t(AF_INET)
            ipv4.sin_port = in_port_t(UInt16(port).bigEndian)
            (family, storage, length) = (AF_INET, Self.storage(ipv4), socklen_t(MemoryLayout<sockaddr_in>.size))
        } else if inet_pton(AF_INET6, host, &ipv6.sin6_addr) == 1 {
            ipv6.sin6_family = sa_family_t(AF_INET6)
            ipv6.sin6_port = in_port_t(UInt16(port).bigEndian)
            (family, storage, length) = (AF_INET6, Self.storage(ipv6), socklen_t(MemoryLayout<sockaddr_in6>.size))
        } else {
            return nil
        }
    }

    private static func storage<Address>(_ address: Address) -> sockaddr_storage {
        var storage = sockaddr_storage()
        withUnsafeBytes(of: address) { source in
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) }
        }
        return storage
    }

    /// `connect(2)` on `descriptor`; returns the errno on failure.
    func connect(_ descriptor: Int32) -> Int32? {
        var storage = self.storage
        let result = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                #if canImport(Glibc) || canImport(Musl)
                Glibc.connect(descriptor, pointer, length)
                #else
                Darwin.connect(descriptor, pointer, length)
                #endif
            }
        }
        return result == 0 ? nil : errno
    }
}
