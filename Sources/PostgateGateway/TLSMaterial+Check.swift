import Foundation
import PostgateStore
import X509
import PostgateIndex

extension TLSMaterial {
    /// Certificates closer than this to their end are reported by `postgate check`.
    public static let expiryWarning: TimeInterval = 21 * 86400

    /// `postgate check`'s view of the listeners' certificate: the configured file (or the
    /// dev certificate, when one was made) parses, its key file exists, and it is valid at
    /// `now` and for `expiryWarning` longer. Reads only; makes no certificate.
    public static func check(configuration: GatewayConfiguration, dataDirectory: String, now: Date = Date()) -> CheckFinding {
        var certificateFile = configuration.tls.certificateFile
        var keyFile = configuration.tls.privateKeyFile
        if certificateFile.isEmpty {
            certificateFile = dataDirectory + "/certs/" + devCertificateName
            keyFile = dataDirectory + "/certs/" + devKeyName
            guard FileManager.default.fileExists(atPath: certificateFile) else {
                return CheckFinding("tls", .ok, "no certificate configured; `postgate serve` makes a self-signed one on first start")
            }
        }
        guard FileManager.default.isReadableFile(atPath: keyFile) else {
            return CheckFinding("tls", .error, "private key file \(keyFile) is missing or unreadable")
        }
        do {
            let text = try String(contentsOfFile: certificateFile, encoding: .utf8)
            let certificate = try Certificate(pemEncoded: text)
            return validity(of: certificate, file: certificateFile, now: now)
        } catch {
            return CheckFinding("tls", .error, "cannot read the certificate \(certificateFile): \(error)")
        }
    }

    private static func validity(of certificate: Certificate, file: String, now: Date) -> CheckFinding {
        let end = certificate.notValidAfter
        if end <= now || certificate.notValidBefore > now {
            return CheckFinding("tls", .error, "certificate \(file) is not valid now (valid \(certificate.notValidBefore) to \(end))")
        }
        if end.timeIntervalSince(now) < expiryWarning {
            return CheckFinding("tls", .warning, "certificate \(file) expires \(end): renew it (see Certs/README.md)")
        }
        return CheckFinding("tls", .ok, "certificate \(file) valid until \(end)")
    }
}
