import Foundation

/// The subject phrases that out-of-office and automatic-reply programs use, by language:
/// Outlook/Exchange prefixes ("Automatic reply:", "Automatische Antwort:"…), Gmail and
/// other vacation responders, and the usual absence notices.
///
/// Phrases are matched anywhere in the subject, ignoring case and accents, so
/// "REPONSE AUTOMATIQUE" and "Réponse automatique" both match. Only phrases that a person
/// would hardly use in a new request are listed (no single words like "away").
enum OutOfOfficeSubjects {
    static let phrases: [(language: String, phrases: [String])] = [
        ("English", ["out of office", "out of the office", "automatic reply", "auto reply", "auto-reply", "autoreply",
                     "auto response", "auto-response", "autoresponse", "vacation reply", "away from the office"]),
        ("German", ["abwesenheitsnotiz", "automatische antwort", "abwesenheitsmeldung", "nicht im büro",
                    "außer haus", "ausser haus", "urlaubsabwesenheit"]),
        ("French", ["réponse automatique", "absence du bureau", "absent du bureau", "message d'absence"]),
        ("Spanish", ["respuesta automática", "fuera de la oficina", "fuera de oficina", "respuesta de ausencia"]),
        ("Italian", ["risposta automatica", "fuori ufficio", "fuori sede", "assenza dall'ufficio"]),
        ("Dutch", ["automatisch antwoord", "afwezigheidsmelding", "buiten kantoor", "niet op kantoor", "afwezigheidsbericht"]),
        ("Portuguese", ["resposta automática", "fora do escritório", "ausência do escritório", "ausente do escritório"]),
        ("Swedish", ["automatiskt svar", "frånvaromeddelande", "inte på kontoret", "ej på kontoret"]),
        ("Danish/Norwegian", ["automatisk svar", "ikke på kontoret", "fraværsmelding"]),
        ("Finnish", ["automaattinen vastaus", "poissa toimistolta", "lomavastaaja"]),
        ("Polish", ["automatyczna odpowiedź", "odpowiedź automatyczna", "poza biurem"]),
        ("Czech", ["automatická odpověď", "mimo kancelář"]),
        ("Turkish", ["otomatik yanıt", "otomatik cevap", "ofis dışında"]),
    ]

    /// The phrases folded, as UTF-8: matched as bytes, since both sides are folded alike
    /// (a `String` search compares grapheme by grapheme, many times slower, on every message).
    private static let folded: [(language: String, phrases: [[UInt8]])] = phrases.map { entry in
        (entry.language, entry.phrases.map { Array(fold($0).utf8) })
    }

    /// The language of the first phrase found in `subject`, or nil.
    static func language(of subject: String) -> String? {
        let text = foldASCII(subject) ?? Array(fold(subject).utf8)
        return folded.first { $0.phrases.contains { occurs($0, in: text) } }?.language
    }

    /// Whether `needle` occurs in `haystack`.
    private static func occurs(_ needle: [UInt8], in haystack: [UInt8]) -> Bool {
        guard let first = needle.first, needle.count <= haystack.count else { return needle.isEmpty }
        var start = 0
        while let index = haystack[start...(haystack.count - needle.count)].firstIndex(of: first) {
            if haystack[index..<(index + needle.count)].elementsEqual(needle) { return true }
            start = index + 1
            if start > haystack.count - needle.count { return false }
        }
        return false
    }

    /// Lower case without accents, typographic apostrophes made plain, runs of white space
    /// as one space.
    static func fold(_ text: String) -> String {
        if let ascii = foldASCII(text) { return String(decoding: ascii, as: UTF8.self) }
        return foldUnicode(text)
    }

    /// `fold` of an ASCII text, as UTF-8, without Foundation's folding (which costs more than
    /// the rest of a delivery's policy checks together); nil if `text` is not ASCII.
    private static func foldASCII(_ text: String) -> [UInt8]? {
        var folded: [UInt8] = []
        folded.reserveCapacity(text.utf8.count)
        var space = false
        for byte in text.utf8 {
            guard byte < 0x80 else { return nil }
            if byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A {
                space = !folded.isEmpty
                continue
            }
            if space { folded.append(0x20) }
            space = false
            folded.append(byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte)
        }
        return folded
    }

    static func foldUnicode(_ text: String) -> String {
        let plain = text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: Locale(identifier: "en_US_POSIX"))
            .replacingOccurrences(of: "\u{2019}", with: "'")
            .replacingOccurrences(of: "ß", with: "ss")
        return plain.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }).joined(separator: " ")
    }
}
