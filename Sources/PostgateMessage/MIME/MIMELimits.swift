/// Bounds that keep hostile MIME from using unbounded time or memory.
public struct MIMELimits: Sendable, Equatable {
    /// Deepest nesting of multiparts and encapsulated messages below the root.
    public var maximumDepth: Int
    /// Most parts in the whole tree, the root included.
    public var maximumParts: Int
    /// Header bytes kept per part. Also the longest line kept for boundary matching
    /// (RFC 2046 allows 70-character boundaries; hostile ones are longer): a longer line is
    /// never a delimiter, and a longer header line ends what is kept of the header.
    public var maximumHeaderBytes: Int

    public init(maximumDepth: Int = 32, maximumParts: Int = 1000, maximumHeaderBytes: Int = 64 * 1024) {
        self.maximumDepth = maximumDepth
        self.maximumParts = maximumParts
        self.maximumHeaderBytes = maximumHeaderBytes
    }
}
