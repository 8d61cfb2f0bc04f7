/// Writes RFC 4180 CSV: fields separated by commas, a field holding a comma, quote or line
/// break enclosed in quotes with its quotes doubled, every record ended by CRLF. What it
/// writes, `CSVParser` reads back field for field.
public enum CSVWriter {
    /// The text of `records`, one line per record.
    public static func write(_ records: [[String]]) -> String {
        records.map { $0.map(quoted).joined(separator: ",") + "\r\n" }.joined()
    }

    static func quoted(_ field: String) -> String {
        guard field.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }) else { return field }
        var result = "\""
        for scalar in field.unicodeScalars {
            if scalar == "\"" { result.unicodeScalars.append(scalar) }
            result.unicodeScalars.append(scalar)
        }
        return result + "\""
    }
}
