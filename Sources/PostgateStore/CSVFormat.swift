/// RFC 4180 CSV: records of fields separated by commas, a field with a comma, quote or line
/// break enclosed in quotes with its quotes doubled. Reading also takes LF line ends and a
/// UTF-8 byte-order mark; writing uses CRLF.
public enum CSVFormat {
    /// A quoted field that never ends, or a quote in the middle of an unquoted field.
    public struct SyntaxError: Error, CustomStringConvertible, Equatable {
        public var line: Int
        public var reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    public static func write(_ records: [[String]]) -> String {
        records.map { $0.map(quoted).joined(separator: ",") + "\r\n" }.joined()
    }

    static func quoted(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Every record of `text`; a blank last line is not a record.
    public static func read(_ text: String) throws(SyntaxError) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var quoted = false, afterQuote = false
        var line = 1
        var scalars = Substring(text).unicodeScalars[...]
        if scalars.first == "\u{FEFF}" { scalars = scalars.dropFirst() }
        var iterator = scalars.makeIterator()
        var pending = iterator.next()
        while let scalar = pending {
            pending = iterator.next()
            if quoted {
                if scalar == "\"" {
                    if pending == "\"" { field.unicodeScalars.append("\""); pending = iterator.next() } else { quoted = false; afterQuote = true }
                } else {
                    if scalar == "\n" { line += 1 }
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case ",":
                record.append(field); field = ""; afterQuote = false
            case "\r" where pending == "\n":
                continue
            case "\n", "\r":
                record.append(field); records.append(record)
                record = []; field = ""; afterQuote = false; line += 1
            case "\"" where field.isEmpty && !afterQuote:
                quoted = true
            default:
                guard !afterQuote, scalar != "\"" else { throw SyntaxError(line: line, reason: "a quote inside an unquoted field, or text after a closing quote") }
                field.unicodeScalars.append(scalar)
            }
        }
        if quoted { throw SyntaxError(line: line, reason: "a quoted field is not closed") }
        if !field.isEmpty || !record.isEmpty || afterQuote { record.append(field); records.append(record) }
        return records
    }
}
