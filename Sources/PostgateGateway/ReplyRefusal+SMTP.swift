import PostgateSMTP

extension ReplyRefusal {
    /// The refusal as an SMTP reply: its text's leading `x.y.z` becomes the enhanced status
    /// code (RFC 3463), so the client sees `550 5.7.1 …` as the CLI prints it.
    var smtpReply: SMTPReply {
        let words = text.split(separator: " ", maxSplits: 1).map(String.init)
        let isEnhanced = words.count == 2 && words[0].split(separator: ".").count == 3
            && words[0].allSatisfy { $0 == "." || $0.isASCII && $0.isNumber }
        let code = (400...599).contains(code) ? code : 554
        return isEnhanced ? SMTPReply(code, words[0], words[1]) : SMTPReply(code, nil, text)
    }
}
