import Mustache

/// One auto-reply body, text or HTML: a Mustache template over `AutoReplyValues`' variables
/// (or another fixed set of variables: an agent's signature uses `SignatureValues`').
///
/// Checked when it is set, so a running gateway never meets a template it cannot render:
/// the syntax (an unclosed section, a bad tag), partials, inheritance blocks and delimiter
/// changes (there is no library of partials, and a changed delimiter would hide tags from
/// the check), and every name it looks up must be one of `AutoReplyValues.names`. A text
/// template renders its values as they are; an HTML template escapes them (`<`, `&`, `"`).
public struct AutoReplyTemplate: Sendable {
    public enum Format: String, Sendable {
        case text
        case html = "HTML"
    }

    public let source: String
    public let format: Format
    /// The names the template may look up.
    public let variables: Set<String>
    private let template: MustacheTemplate

    /// Parses and checks `source`.
    /// - Throws: `AutoReplyTemplateError` naming the line, the tag or the unknown variable.
    public init(_ source: String, format: Format, variables: Set<String> = AutoReplyValues.names) throws(AutoReplyTemplateError) {
        self.source = source
        self.format = format
        self.variables = variables
        if let tag = Self.unsupportedTag(in: source) { throw .unsupportedTag(tag) }
        // The content type is a configuration tag of the template itself; placed on the first
        // line without a line break, so the line numbers of syntax errors stay the user's.
        let prefix = format == .text ? "{{%CONTENT_TYPE:TEXT}}" : ""
        do {
            template = try MustacheTemplate(string: prefix + source)
        } catch let error as MustacheTemplate.ParserError {
            throw .syntax(line: error.context.lineNumber, reason: Self.describe(error.error))
        } catch {
            throw .syntax(line: nil, reason: "\(error)")
        }
        let unknown = Self.lookups(of: template, variables: variables).subtracting(variables)
        if let name = unknown.sorted().first { throw .unknownVariable(name, known: variables.sorted()) }
    }

    /// The body for `values`.
    public func render(_ values: AutoReplyValues) -> String {
        template.render(values.dictionary)
    }

    /// The body for `values`, keyed by the names in `variables`.
    public func render(_ values: [String: String]) -> String {
        template.render(values)
    }

    /// The names the template looks up: it is rendered twice through a recorder, once with
    /// every variable set (sections open) and once with none (inverted sections open).
    static func lookups(of template: MustacheTemplate, variables: Set<String>) -> Set<String> {
        var names: Set<String> = []
        for filled in [true, false] {
            let recorder = LookupRecorder(filled: filled, variables: variables)
            _ = template.render(recorder)
            names.formUnion(recorder.names)
        }
        return names
    }

    /// Answers every lookup and remembers its name.
    private final class LookupRecorder: MustacheParent {
        let filled: Bool
        let variables: Set<String>
        var names: Set<String> = []

        init(filled: Bool, variables: Set<String>) {
            self.filled = filled
            self.variables = variables
        }

        func child(named name: String) -> Any? {
            names.insert(name)
            return filled && variables.contains(name) ? "x" : nil
        }
    }

    /// A partial (`{{>`), an inheritance tag (`{{<`, `{{$`) or a delimiter change (`{{=`).
    static func unsupportedTag(in source: String) -> String? {
        var rest = source[...]
        while let open = rest.range(of: "{{") {
            let after = rest[open.upperBound...].drop { $0 == " " || $0 == "\t" }
            if let sigil = after.first, ">$<=".contains(sigil) {
                return "{{" + String(after.prefix { $0 != "}" && !$0.isNewline }) + "}}"
            }
            rest = rest[open.upperBound...]
        }
        return nil
    }

    private static func describe(_ error: any Error) -> String {
        switch error as? MustacheTemplate.Error {
        case .sectionCloseNameIncorrect: "a section is closed with another name than it was opened with"
        case .unfinishedName: "a tag is not finished (a {{ without its }})"
        case .expectedSectionEnd: "a section is not closed ({{#name}} needs {{/name}})"
        case .invalidSetDelimiter: "a delimiter change is malformed"
        case .invalidConfigVariableSyntax, .unrecognisedConfigVariable: "a {{% tag is not understood"
        default: "\(error)"
        }
    }
}

/// Why a template is refused: one line for the administrator.
public enum AutoReplyTemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    case syntax(line: Int?, reason: String)
    case unknownVariable(String, known: [String])
    case unsupportedTag(String)

    public var description: String {
        switch self {
        case .syntax(let line?, let reason): "syntax error on line \(line): \(reason)"
        case .syntax(nil, let reason): "syntax error: \(reason)"
        case .unknownVariable(let name, let known):
            "unknown variable {{\(name)}}; known: \(known.joined(separator: ", "))"
        case .unsupportedTag(let tag): "\(tag): partials, blocks and delimiter changes are not supported"
        }
    }
}
