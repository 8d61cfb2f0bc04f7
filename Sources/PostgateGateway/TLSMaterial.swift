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

    /// Reads the configured certificate chain and key (or the dev certificate, made if
    /// missing) and checks that they make a TLS server context: the files parse and the key
    /// is the certificate's. Blocking (files); errors are one line naming the files.
    public static func load(configuration: GatewayConfiguration, dataDirectory: String) throws -> ServerCertificate.Material {
        var certificateFile = configuration.tls.certificateFile
        var keyFile = configuration.tls.privateKeyFile
        if certificateFile.isEmpty {
            (certificateFile, keyFile) = try ensureDevCertificate(hostname: configuration.hostname, directory: dataDirectory + "/certs")
        }
        let material: ServerCertificate.Material
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
            guard !chain.isEmpty else { throw ConfigurationError("no certificate in the file") }
            material = .init(chain: chain, key: try NIOSSLPrivateKey(file: keyFile, format: .pem), certificateFile: certificateFile)
        } catch {
            throw ConfigurationError("cannot load TLS certificate \(certificateFile) and key \(keyFile): \(error)")
        }
        do {
            _ = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: material.chain.map { NIOSSLCertificateSource.certificate($0) },
                                                                          privateKey: .privateKey(material.key)))
        } catch {
            throw ConfigurationError("cannot use TLS certificate \(certificateFile) with key \(keyFile): \(error)")
        }
        return material
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
