/// One step of an SMTP session set-up, as a connection test reports it: `connect` (TCP,
/// implicit TLS and the greeting, RFC 5321 section 4.3.1), `ehlo` (section 4.1.1.1),
/// `starttls` (RFC 3207 section 4), `authenticate` (RFC 4954 section 4).
public struct SMTPProbeStep: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var ok: Bool
    /// The server's reply or the error, in one line.
    public var detail: String

    public init(name: String, ok: Bool, detail: String) {
        self.name = name
        self.ok = ok
        self.detail = detail
    }

    public var description: String { "\(name): \(ok ? "ok" : "failed"), \(detail)" }
}
