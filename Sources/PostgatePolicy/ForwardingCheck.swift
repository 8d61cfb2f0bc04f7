import Foundation
import PostgateMessage

/// The test message `postgate address verify-forwarding` sends to a customer's public
/// address, come back through their forwarding. It carries a token Postgate signed
/// (`pgf-…`, checked by the caller's MAC) in its Message-ID and, for forwarders that
/// replace Message-IDs, in its subject as `[pgf-…]`. Such a message is for the
/// administrator: kept in the address's mailbox, out of queues, sessions and automation.
public enum ForwardingCheck {
    static let prefix = "pgf-"

    /// The subject of a check message carrying `token`.
    public static func subject(token: String) -> String {
        "Postgate forwarding check [\(token)]"
    }

    /// The check token in the header whose MAC `verify` accepts, nil for any other message.
    /// The Message-ID is read first, then each `[pgf-…]` tag of the subject.
    public static func token(in header: MessageHeader, verify: (String) -> Bool) -> String? {
        if let id = header["Message-ID"]?.trimmingSpaces() {
            var text = Substring(id)
            if text.hasPrefix("<") { text = text.dropFirst() }
            if let at = text.firstIndex(of: "@") {
                let token = String(text[..<at])
                if token.lowercased().hasPrefix(prefix), verify(token) { return token.lowercased() }
            }
        }
        guard let raw = header["Subject"] else { return nil }
        let subject = EncodedWordDecoder.decode(raw)
        var rest = Substring(subject)
        while let open = rest.range(of: "[" + prefix, options: .caseInsensitive) {
            let after = rest[open.lowerBound...].dropFirst()
            guard let close = after.firstIndex(of: "]") else { break }
            let token = String(after[..<close])
            if verify(token) { return token.lowercased() }
            rest = after[close...]
        }
        return nil
    }
}
