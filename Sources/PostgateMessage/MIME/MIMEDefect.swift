/// Something malformed or over a limit that the MIME parser recovered from.
public enum MIMEDefect: String, Sendable, Hashable, CaseIterable {
    /// A multipart ended without its close delimiter (RFC 2046 section 5.1.1); its last
    /// part runs to the end of the enclosing body.
    case missingFinalBoundary
    /// A multipart without a boundary parameter; its body is kept as one leaf.
    case missingBoundaryParameter
    /// The header ended without an empty line before a boundary or the end of input.
    case missingHeaderEnd
    /// The header was longer than `MIMELimits.maximumHeaderBytes`; the rest was not parsed.
    case headerTruncated
    /// Nesting deeper than `MIMELimits.maximumDepth`; this part was not descended into.
    case depthLimit
    /// More parts than `MIMELimits.maximumParts`; the rest of this multipart was not split.
    case partLimit
}
