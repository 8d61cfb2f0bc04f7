import PostgateMessage

/// Turns one command line (without its CRLF) into an `SMTPCommand`, or the reply that
/// explains why it is not one.
///
/// Verbs are case-insensitive (RFC 5321 section 2.4). Paths follow section 4.1.2: source
/// routes (`<@a,@b:user@c>`) are accepted and ignored as section 4.1.1.3 and appendix C
/// require, and an address is only ever taken from after the route's colon.
public enum SMTPCommandParser {
    public static func parse(_ line: [UInt8]) -> Result<SMTPCommand, SMTPReply> {
        guard let text = String(validating: line, as: UTF8.self) else {
            return .failure(SMTPReply(500, "5.5.2", "Command line is not valid UTF-8"))
        }
        let (verb, argument) = split(text)
        switch verb.uppercased() {
        case "EHLO": return domainArgument(argument, "EHLO").map(SMTPCommand.ehlo)
        case "HELO": return domainArgument(argument, "HELO").map(SMTPCommand.helo)
        case "MAIL": return parseMail(argument)
        case "RCPT": return parseRcpt(argument)
        case "DATA": return noArgument(argument, .data)
        case "RSET": return noArgument(argument, .rset)
        case "NOOP": return .success(.noop)  // NOOP may carry a string, which is ignored
        case "QUIT": return noArgument(argument, .quit)
        case "VRFY": return .success(.vrfy(argument))
        case "HELP": return .success(.help(argument))
        case "STARTTLS": return noArgument(argument, .startTLS)
        case "BDAT": return .success(parseBDAT(argument))
        case "AUTH": return .success(parseAuth(argument))
        case "EXPN", "TURN", "ETRN", "ATRN", "SEND", "SOML", "SAML":
            return .success(.notImplemented(verb.uppercased()))
        default:
            return .failure(SMTPReply(500, "5.5.2", "Command not recognized"))
        }
    }

    /// `BDAT 1*DIGIT [SP "LAST"]` (RFC 3030 section 3). Sizes past 18 digits are malformed.
    private static func parseBDAT(_ argument: String) -> SMTPCommand {
        let words = argument.split(separator: " ", omittingEmptySubsequences: false)
        guard (1...2).contains(words.count), let digits = words.first, (1...18).contains(digits.count),
              digits.allSatisfy({ $0.isASCII && $0.isNumber }), let size = Int(digits) else { return .malformedBDAT }
        guard words.count == 1 || words[1].uppercased() == "LAST" else { return .malformedBDAT }
        return .bdat(size: size, last: words.count == 2)
    }

    /// `AUTH SP sasl-mech [SP initial-response]` (RFC 4954 section 4).
    private static func parseAuth(_ argument: String) -> SMTPCommand {
        let words = argument.split(separator: " ").map(String.init)
        guard (1...2).contains(words.count) else { return .auth(mechanism: "", initialResponse: nil) }
        return .auth(mechanism: words[0].uppercased(), initialResponse: words.count == 2 ? words[1] : nil)
    }

    private static func split(_ text: String) -> (Substring, String) {
        guard let space = text.firstIndex(of: " ") else { return (Substring(text), "") }
        return (text[..<space], String(text[text.index(after: space)...]).trimmingSpaces())
    }

    private static func noArgument(_ argument: String, _ command: SMTPCommand) -> Result<SMTPCommand, SMTPReply> {
        argument.isEmpty ? .success(command) : .failure(SMTPReply(501, "5.5.4", "Syntax error: no parameters allowed"))
    }

    private static func domainArgument(_ argument: String, _ verb: String) -> Result<String, SMTPReply> {
        let name = argument.split(separator: " ").first.map(String.init) ?? ""
        guard !name.isEmpty else { return .failure(SMTPReply(501, "5.5.4", "Syntax: \(verb) hostname")) }
        return .success(name)
    }

    // MARK: MAIL FROM:<path> [params]

    private static func parseMail(_ argument: String) -> Result<SMTPCommand, SMTPReply> {
        guard let rest = stripKeyword("FROM:", argument) else {
            return .failure(SMTPReply(501, "5.5.4", "Syntax: MAIL FROM:<address>"))
        }
        switch splitPath(rest) {
        case .failure(let reply): return .failure(reply)
        case .success(let (pathText, paramText)):
            var parameters = MailParameters()
            for parameter in paramText.split(separator: " ") {
                if let reply = apply(String(parameter), to: &parameters) { return .failure(reply) }
            }
            if pathText.isEmpty { return .success(.mail(.null, parameters)) }
            return mailbox(pathText, isSender: true, smtpUTF8: parameters.smtpUTF8).map { .mail(.mailbox($0), parameters) }
        }
    }

    private static func apply(_ parameter: String, to parameters: inout MailParameters) -> SMTPReply? {
        let parts = parameter.split(separator: "=", maxSplits: 1).map(String.init)
        let keyword = parts[0].uppercased()
        let value = parts.count > 1 ? parts[1] : nil
        switch (keyword, value) {
        case ("SIZE", let value?):
            guard let size = Int(value), size >= 0, value.count <= 18 else {
                return SMTPReply(501, "5.5.4", "Syntax: SIZE=<number of octets>")
            }
            parameters.declaredSize = size
        case ("BODY", let value?):
            guard let body = SMTPBodyType(rawValue: value.uppercased()) else {
                return SMTPReply(555, "5.5.4", "BODY=\(value) is not supported; use 7BIT or 8BITMIME")
            }
            parameters.body = body
        case ("SMTPUTF8", nil):
            parameters.smtpUTF8 = true
        case ("AUTH", _?):
            break  // RFC 4954 section 5: a server that did not authenticate the client ignores it
        default:
            return SMTPReply(555, "5.5.4", "MAIL parameter \(keyword) is not supported")
        }
        return nil
    }

    // MARK: RCPT TO:<path> [params]

    private static func parseRcpt(_ argument: String) -> Result<SMTPCommand, SMTPReply> {
        guard let rest = stripKeyword("TO:", argument) else {
            return .failure(SMTPReply(501, "5.5.4", "Syntax: RCPT TO:<address>"))
        }
        switch splitPath(rest) {
        case .failure(let reply): return .failure(reply)
        case .success(let (pathText, paramText)):
            if let parameter = paramText.split(separator: " ").first {
                let keyword = parameter.split(separator: "=").first.map { String($0).uppercased() } ?? ""
                return .failure(SMTPReply(555, "5.5.4", "RCPT parameter \(keyword) is not supported"))
            }
            guard !pathText.isEmpty else {
                return .failure(SMTPReply(501, "5.1.3", "The null path <> is not a recipient"))
            }
            // `RCPT TO:<Postmaster>` without a domain is allowed by section 4.1.1.3; this server
            // hosts no such mailbox on its own name, so it answers as for an unknown user.
            if pathText.lowercased() == "postmaster" {
                return .failure(SMTPReply(550, "5.1.1", "No postmaster mailbox without a domain here"))
            }
            return mailbox(pathText, isSender: false, smtpUTF8: true).map { .rcpt($0, RecipientParameters()) }
        }
    }

    // MARK: Paths

    private static func stripKeyword(_ keyword: String, _ argument: String) -> String? {
        guard argument.uppercased().hasPrefix(keyword) else { return nil }
        // Many clients write `MAIL FROM: <a@b>`; tolerate spaces after the colon.
        return String(argument.dropFirst(keyword.count)).trimmingSpaces()
    }

    /// Splits `<path> params` into the path without brackets and route, and the parameters.
    private static func splitPath(_ text: String) -> Result<(String, String), SMTPReply> {
        guard text.hasPrefix("<"), let close = closingBracket(text) else {
            return .failure(SMTPReply(501, "5.1.7", "Syntax: the address must be written in angle brackets"))
        }
        var path = String(text[text.index(after: text.startIndex)..<close])
        let params = String(text[text.index(after: close)...]).trimmingSpaces()
        if path.hasPrefix("@") {
            // A-d-l ":" Mailbox — drop the route, keep only the mailbox after the colon.
            guard let colon = routeColon(path) else {
                return .failure(SMTPReply(501, "5.1.3", "Syntax error in source route"))
            }
            path = String(path[path.index(after: colon)...])
        }
        return .success((path, params))
    }

    /// The `>` that closes the path, skipping any inside a quoted local part.
    private static func closingBracket(_ text: String) -> String.Index? {
        var quoted = false
        var escaped = false
        for index in text.indices.dropFirst() {
            let ch = text[index]
            if escaped { escaped = false; continue }
            if quoted && ch == "\\" { escaped = true; continue }
            if ch == "\"" { quoted.toggle(); continue }
            if ch == ">" && !quoted { return index }
        }
        return nil
    }

    private static func routeColon(_ path: String) -> String.Index? {
        guard let colon = path.firstIndex(of: ":") else { return nil }
        let route = path[..<colon]
        let hops = route.split(separator: ",", omittingEmptySubsequences: false)
        guard hops.allSatisfy({ $0.hasPrefix("@") && $0.count > 1 }) else { return nil }
        return colon
    }

    private static func mailbox(_ text: String, isSender: Bool, smtpUTF8: Bool) -> Result<EmailAddress, SMTPReply> {
        let role = isSender ? "sender" : "recipient"
        if !smtpUTF8 && text.utf8.contains(where: { $0 >= 0x80 }) {
            // RFC 6531 section 3.5: UTF-8 addresses need the SMTPUTF8 parameter.
            return .failure(SMTPReply(553, "5.6.7", "Non-ASCII \(role) address needs the SMTPUTF8 parameter"))
        }
        do {
            return .success(try EmailAddress(text))
        } catch {
            let code = isSender ? "5.1.7" : "5.1.3"
            return .failure(SMTPReply(501, code, "Bad \(role) address syntax: \(error.description)"))
        }
    }
}
