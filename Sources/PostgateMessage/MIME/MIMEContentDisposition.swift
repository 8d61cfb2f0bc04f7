/// A Content-Disposition (RFC 2183): `inline` or `attachment` and its parameters
/// (filename, size, dates), filename decoded from RFC 2231 or RFC 2047 form.
public struct MIMEContentDisposition: Sendable, Equatable, Hashable {
    /// Lowercased disposition type.
    public var type: String
    public var parameters: [String: String]

    public init(type: String, parameters: [String: String] = [:]) {
        self.type = type
        self.parameters = parameters
    }

    public static func parse(_ field: String?) -> MIMEContentDisposition? {
        guard let field else { return nil }
        let (value, parameters) = MIMEParameterParser.parse(field)
        guard !value.isEmpty else { return nil }
        return MIMEContentDisposition(type: value, parameters: parameters)
    }

    public var isAttachment: Bool { type == "attachment" }
    public var filename: String? { parameters["filename"] }
}
