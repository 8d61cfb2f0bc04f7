/// One result of `postgate check`: what was checked, how bad it is, and what to do.
public struct CheckFinding: Sendable, Codable, Equatable {
    /// How serious a finding is. `error` makes `postgate check` exit non-zero.
    public enum Severity: String, Sendable, Codable, Comparable {
        case ok, warning, error

        public static func < (lhs: Self, rhs: Self) -> Bool {
            let order: [Self] = [.ok, .warning, .error]
            return order.firstIndex(of: lhs)! < order.firstIndex(of: rhs)!
        }
    }

    /// The area checked: `database`, `mailbox <path>`, `address <email>`, `dkim <domain>`, `config`, `tls`.
    public var subject: String
    public var severity: Severity
    /// One line a person can act on.
    public var detail: String

    public init(_ subject: String, _ severity: Severity, _ detail: String) {
        self.subject = subject
        self.severity = severity
        self.detail = detail
    }
}
