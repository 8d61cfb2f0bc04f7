import Foundation
import Logging

/// How a log line is written: `logfmt` (`key=value` pairs, as Heroku and Grafana Loki read
/// them) or `json` (one object per line). Both carry the same fields in the same order:
/// `time` (UTC, RFC 3339 with milliseconds), `level`, `msg`, then the metadata sorted by key.
public enum LogLineFormat: String, Sendable, CaseIterable {
    case logfmt
    case json

    /// One line, without its line feed.
    public func line(time: Date, level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        var fields: [(String, Logger.MetadataValue)] = [
            ("time", .string(Self.timestamp(time))), ("level", .string(level.rawValue)), ("msg", .string(message)),
        ]
        for key in metadata.keys.sorted() where !["time", "level", "msg"].contains(key) {
            fields.append((key, metadata[key]!))
        }
        switch self {
        case .logfmt:
            return fields.map { Self.logfmtKey($0.0) + "=" + Self.logfmtValue(Self.flat($0.1)) }.joined(separator: " ")
        case .json:
            return "{" + fields.map { Self.jsonString($0.0) + ":" + Self.json($0.1) }.joined(separator: ",") + "}"
        }
    }

    // MARK: - logfmt

    /// A key is a bare word: anything but letters, digits, `_`, `.`, `-` becomes `_`.
    static func logfmtKey(_ key: String) -> String {
        let word = key.unicodeScalars.map { scalar -> String in
            Self.isBare(scalar) && scalar != "=" ? String(scalar) : "_"
        }.joined()
        return word.isEmpty ? "_" : word
    }

    /// A value stays bare when it is non-empty printable ASCII without space, `=` or `"`;
    /// otherwise it is quoted, with `\` and `"` escaped and control characters written as
    /// `\n`, `\r`, `\t` or `\u00XX` (the escapes of Go's `strconv.Quote`, which logfmt
    /// readers undo).
    static func logfmtValue(_ value: String) -> String {
        guard value.isEmpty || !value.unicodeScalars.allSatisfy({ isBare($0) && $0 != "=" }) else { return value }
        return quoted(value)
    }

    private static func isBare(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value > 0x20 && scalar.value < 0x7F && scalar != "\"" && scalar != "\\"
            || scalar.value >= 0xA0 && !scalar.properties.isWhitespace
    }

    /// A metadata value as one string: a list joined by commas, a dictionary as `k=v` pairs.
    static func flat(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let text): return text
        case .stringConvertible(let convertible): return convertible.description
        case .array(let values): return values.map(flat).joined(separator: ",")
        case .dictionary(let values): return values.keys.sorted().map { "\($0)=\(flat(values[$0]!))" }.joined(separator: ",")
        }
    }

    // MARK: - JSON (RFC 8259)

    static func json(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let text): return jsonString(text)
        case .stringConvertible(let convertible): return jsonString(convertible.description)
        case .array(let values): return "[" + values.map(json).joined(separator: ",") + "]"
        case .dictionary(let values):
            return "{" + values.keys.sorted().map { jsonString($0) + ":" + json(values[$0]!) }.joined(separator: ",") + "}"
        }
    }

    /// A JSON string (RFC 8259 section 7): `"` and `\` escaped, control characters as
    /// `\n`, `\r`, `\t` or `\u00XX`; U+2028 and U+2029 escaped too, so a line stays a line.
    static func jsonString(_ text: String) -> String {
        quoted(text, escapingLineSeparators: true)
    }

    private static func quoted(_ text: String, escapingLineSeparators: Bool = false) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F
                || escapingLineSeparators && (scalar.value == 0x2028 || scalar.value == 0x2029):
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    // MARK: - Time

    /// `2026-12-07T14:38:20.123Z`: RFC 3339 section 5.6, UTC.
    static func timestamp(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = Int(milliseconds % 1000)
        let fraction = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(fraction)Z"
    }
}
