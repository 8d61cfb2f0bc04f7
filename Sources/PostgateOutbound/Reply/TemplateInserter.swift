/// Puts a channel's template header and footer (text and HTML), the agent's signature
/// after the footer, and the session marker around a reply's text.
enum TemplateInserter {
    /// Text: header, a blank line, the agent's text, a blank line, footer, signature, the marker.
    static func plain(_ text: String, channel: ReplyComposer.Channel, marker: String? = nil) -> String {
        var pieces: [String] = []
        if let header = channel.templateHeaderText, !header.isEmpty { pieces.append(crlf(header)) }
        pieces.append(crlf(text).trimmingTrailingLineBreaks())
        if let footer = channel.templateFooterText, !footer.isEmpty { pieces.append(crlf(footer)) }
        if let signature = channel.signatureText, !signature.isEmpty { pieces.append(crlf(signature).trimmingTrailingLineBreaks()) }
        if let marker { pieces.append(marker) }
        return pieces.joined(separator: "\r\n\r\n") + "\r\n"
    }

    /// HTML: the header right after `<body…>`, the footer, the signature (and the marker, hidden) right
    /// before `</body>`; at the very start and end when there is no body element.
    static func html(_ text: String, channel: ReplyComposer.Channel, marker: String? = nil) -> String {
        var result = text
        if let header = channel.templateHeaderHTML, !header.isEmpty {
            let lower = result.lowercased()
            if let open = lower.range(of: "<body"), let close = lower[open.upperBound...].firstIndex(of: ">") {
                let offset = lower.distance(from: lower.startIndex, to: close) + 1
                result.insert(contentsOf: header, at: result.index(result.startIndex, offsetBy: offset))
            } else {
                result = header + result
            }
        }
        var tail = (channel.templateFooterHTML ?? "") + (channel.signatureHTML ?? "")
        if let marker { tail += "<div style=\"display:none\">\(marker)</div>" }
        if !tail.isEmpty {
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
    fileprivate func trimmingTrailingLineBreaks() -> String {
        var copy = self
        while copy.hasSuffix("\r\n") { copy.removeLast(1) }
        return copy
    }
}
