import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

/// The certificate and key the listeners offer with STARTTLS.
///
/// With no files configured, a self-signed certificate for the host name (and for
/// 127.0.0.1 and ::1) is made on first start and kept in `DATA/certs`, so a development
/// gateway has working TLS at once; clients must be told not to verify it. Real
/// deployments configure a certificate from a CA (see Certs/README.md).
public enum TLSMaterial {
    public static let devCertificateName = "dev-certificate.pem"
    public static let devKeyName = "dev-key.pem"

    /// A server TLS context for the configured files, or the dev certificate.
    public static func serverContext(configuration: GatewayConfiguration, dataDirectory: String) throws -> NIOSSLContext {
        let tls = try serverConfiguration(configuration: configuration, dataDirectory: dataDirectory)
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw ConfigurationError("cannot use TLS certificate \(configuration.tls.certificateFile): \(error)")
        }
    }

    /// The server TLS configuration (TLS 1.2 and later) for the configured files, or the dev
    /// certificate.
    public static func serverConfiguration(configuration: GatewayConfiguration, dataDirectory: String) throws -> TLSConfiguration {
        var certificateFile = configuration.tls.certificateFile
        var keyFile = configuration.tls.privateKeyFile
        if certificateFile.isEmpty {
            (certificateFile, keyFile) = try ensureDevCertificate(hostname: configuration.hostname, directory: dataDirectory + "/certs")
        }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            tls.minimumTLSVersion = .tlsv12
            return tls
        } catch {
            throw ConfigurationError("cannot load TLS certificate \(certificateFile) and key \(keyFile): \(error)")
        }
    }

    /// Makes the self-signed certificate if it is not there yet; returns its paths.
    static func ensureDevCertificate(hostname: String, directory: String) throws -> (String, String) {
        let certificatePath = directory + "/" + devCertificateName
        let keyPath = directory + "/" + devKeyName
        let files = FileManager.default
        if files.fileExists(atPath: certificatePath), files.fileExists(atPath: keyPath) {
            return (certificatePath, keyPath)
        }
        try files.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let (certificatePEM, keyPEM) = try makeSelfSigned(hostname: hostname)
        try write(keyPEM, to: keyPath, mode: 0o600)
        try write(certificatePEM, to: certificatePath, mode: 0o644)
        return (certificatePath, keyPath)
    }

    /// A P-256 key and a certificate for `hostname`, valid for 825 days (the longest
    /// lifetime clients accept for server certificates).
    public static func makeSelfSigned(hostname: String, now: Date = Date()) throws -> (certificate: String, key: String) {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            CommonName(hostname)
            OrganizationName("Postgate development certificate")
        }
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([.serverAuth])
            SubjectAlternativeNames([
                .dnsName(hostname), .dnsName("localhost"),
                .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
                .ipAddress(ASN1OctetString(contentBytes: ArraySlice([UInt8](repeating: 0, count: 15) + [1]))),
            ])
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(825 * 86400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions,
            issuerPrivateKey: .init(key)
        )
        return (try certificate.serializeAsPEM().pemString + "\n", key.pemRepresentation + "\n")
    }

    private static func write(_ text: String, to path: String, mode: Int) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
            throw ConfigurationError("cannot write \(path)")
        }
    }
}
