/// Puts a channel's template header and footer (text and HTML), the agent's signature
/// after the footer, and the session marker around a reply's text.
enum TemplateInserter {
    /// Text: header, a blank line, the agent's text, a blank line, footer, signature, the marker.
    ///
    /// With `flowed` (a `format=flowed` part, RFC 3676) the agent's text keeps its soft line
    /// breaks and the lines added around it are fixed lines (`fixedLines`).
    static func plain(_ text: String, channel: ReplyComposer.Channel, marker: String? = nil, flowed: Bool = false) -> String {
        var pieces: [String] = []
        if let head = plainHead(channel, flowed: flowed) { pieces.append(head) }
        pieces.append(crlf(text).trimmingTrailingLineBreaks())
        if let tail = plainTail(channel, marker: marker, flowed: flowed) { pieces.append(tail) }
        return pieces.joined(separator: "\r\n\r\n") + "\r\n"
    }

    /// The text template's header, CRLF lines; nil when there is none.
    static func plainHead(_ channel: ReplyComposer.Channel, flowed: Bool = false) -> String? {
        guard let header = channel.templateHeaderText, !header.isEmpty else { return nil }
        return fixedLines(crlf(header), flowed: flowed)
    }

    /// Footer, signature and marker, separated by blank lines; nil when all are missing.
    static func plainTail(_ channel: ReplyComposer.Channel, marker: String?, flowed: Bool = false) -> String? {
        var pieces: [String] = []
        if let footer = channel.templateFooterText, !footer.isEmpty { pieces.append(crlf(footer)) }
        if let signature = channel.signatureText, !signature.isEmpty { pieces.append(crlf(signature).trimmingTrailingLineBreaks()) }
        if let marker { pieces.append(marker) }
        return pieces.isEmpty ? nil : fixedLines(pieces.joined(separator: "\r\n\r\n"), flowed: flowed)
    }

    /// The HTML template's header; nil when there is none.
    static func htmlHead(_ channel: ReplyComposer.Channel) -> String? {
        channel.templateHeaderHTML.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The HTML footer, signature and hidden marker; nil when all are missing.
    static func htmlTail(_ channel: ReplyComposer.Channel, marker: String?) -> String? {
        var tail = (channel.templateFooterHTML ?? "") + (channel.signatureHTML ?? "")
        if let marker { tail += "<div style=\"display:none\">\(marker)</div>" }
        return tail.isEmpty ? nil : tail
    }

    /// Lines added to a `format=flowed` text as fixed lines (RFC 3676 section 4.2): no
    /// trailing space, except the signature separator "-- " (section 4.3); and space-stuffed
    /// where they start with a space, ">" or "From " (section 4.4), so that no reader takes
    /// them for quoted text. Unchanged without `flowed`.
    static func fixedLines(_ text: String, flowed: Bool) -> String {
        guard flowed else { return text }
        return text.components(separatedBy: "\r\n").map { line -> String in
            if line == "-- " { return line }
            var fixed = line
            while fixed.hasSuffix(" ") { fixed.removeLast() }
            if fixed.hasPrefix(" ") || fixed.hasPrefix(">") || fixed.hasPrefix("From ") { fixed = " " + fixed }
            return fixed
        }.joined(separator: "\r\n")
    }

    /// HTML: the header right after `<body…>`, the footer, the signature (and the marker, hidden) right
    /// before `</body>`; at the very start and end when there is no body element.
    static func html(_ text: String, channel: ReplyComposer.Channel, marker: String? = nil) -> String {
        var result = text
        if let header = htmlHead(channel) {
            let lower = result.lowercased()
            if let open = lower.range(of: "<body"), let close = lower[open.upperBound...].firstIndex(of: ">") {
                let offset = lower.distance(from: lower.startIndex, to: close) + 1
                result.insert(contentsOf: header, at: result.index(result.startIndex, offsetBy: offset))
            } else {
                result = header + result
            }
        }
        if let tail = htmlTail(channel, marker: marker) {
            if let close = result.lowercased().range(of: "</body>", options: .backwards) {
                let offset = result.lowercased().distance(from: result.lowercased().startIndex, to: close.lowerBound)
                result.insert(contentsOf: tail, at: result.index(result.startIndex, offsetBy: offset))
            } else {
                result += tail
            }
        }
        return crlf(result)
    }

    /// Every line break as CRLF.
    static func crlf(_ text: String) -> String {
        text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .replacingOccurrences(of: "\n", with: "\r\n")
    }
}

extension String {
    /// The text without the CRLFs at its end.
    func trimmingTrailingLineBreaks() -> String {
        var copy = self
        while copy.hasSuffix("\r\n") { copy.removeLast(1) }
        return copy
    }
}
