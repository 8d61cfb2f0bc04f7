import Foundation
import NIOCore
import NIOSSL
import Synchronization

/// The certificate chain and private key every TLS listener offers (SMTP STARTTLS, the
/// implicit-TLS submission and IMAPS listeners, IMAP STARTTLS, the HTTP API), replaced
/// whole by a reload.
///
/// The listeners' TLS contexts are made once; each handshake asks this object for the
/// certificate and key current at that moment (the context's certificate callback,
/// BoringSSL's `SSL_CTX_set_cert_cb`). So a renewed certificate applies to every handshake
/// that starts after `replace(with:)`, and a session already in TLS keeps the certificate
/// it was set up with.
public final class ServerCertificate: Sendable {
    /// A chain and its key, loaded and checked together (`TLSMaterial.load`).
    public struct Material: Sendable {
        public var chain: [NIOSSLCertificate]
        public var key: NIOSSLPrivateKey
        /// The certificate file it was read from, for log lines.
        public var certificateFile: String
    }

    private let current: Mutex<Material>

    public init(_ material: Material) {
        current = Mutex(material)
    }

    /// The material handshakes use from now on.
    public func replace(with material: Material) {
        current.withLock { $0 = material }
    }

    /// The certificate file of the material in use.
    public var certificateFile: String {
        current.withLock { $0.certificateFile }
    }

    /// When the certificate in use expires.
    public var notValidAfter: Date? {
        current.withLock { $0.chain.first.map { Date(timeIntervalSince1970: TimeInterval($0.notValidAfter)) } }
    }

    /// A server configuration (TLS 1.2 and later) whose handshakes each take the material
    /// current when the client's hello arrives. The chain and key it starts with are the
    /// current ones, so a context made from it is checked like any other.
    public func serverConfiguration() -> TLSConfiguration {
        let material = current.withLock { $0 }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: material.chain.map { NIOSSLCertificateSource.certificate($0) },
                                                           privateKey: .privateKey(material.key))
        tls.minimumTLSVersion = .tlsv12
        tls.sslContextCallback = { [self] _, promise in
            let material = current.withLock { $0 }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = material.chain.map { NIOSSLCertificateSource.certificate($0) }
            override.privateKey = NIOSSLPrivateKeySource.privateKey(material.key)
            promise.succeed(override)
        }
        return tls
    }

    /// A context for the SMTP and IMAP listeners (the API makes its own from
    /// `serverConfiguration()`).
    public func makeContext() throws -> NIOSSLContext {
        try NIOSSLContext(configuration: serverConfiguration())
    }
}
