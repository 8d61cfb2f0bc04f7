import Foundation
import Synchronization

/// Makes Maildir unique names: `<seconds>.M<microseconds>P<pid>Q<counter>.<host>`.
///
/// This is the form of the Maildir specification (https://cr.yp.to/proto/maildir.html)
/// that Dovecot and Courier use: time, process id and a per-process counter make it
/// unique on one host, the host name across hosts that share the Maildir. `/`, `:` and
/// `,` in the host name are written as `\057`, `\072` and `\054`, so a name never holds
/// the characters that separate its info part.
package final class MaildirUniqueName: Sendable {
    package init() {}

    private let counter = Atomic<UInt64>(0)
    private let pid = ProcessInfo.processInfo.processIdentifier
    private let host = MaildirUniqueName.escapedHostName()

    /// A name no other call in this process or on this host returns.
    package func next() -> String {
        let sequence = counter.add(1, ordering: .relaxed).newValue
        var now = timeval()
        gettimeofday(&now, nil)
        return "\(now.tv_sec).M\(now.tv_usec)P\(pid)Q\(sequence).\(host)"
    }

    private static func escapedHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        let name = gethostname(&buffer, buffer.count - 1) == 0
            ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "localhost"
        var escaped = ""
        for character in name.isEmpty ? "localhost" : name {
            switch character {
            case "/": escaped += "\\057"
            case ":": escaped += "\\072"
            case ",": escaped += "\\054"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
