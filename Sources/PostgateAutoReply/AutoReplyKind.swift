/// Which of an address's two auto-replies a message gets: the acknowledgement sent while the
/// address's working calendar is open, or the notice sent while it is closed.
public enum AutoReplyKind: String, Sendable, Hashable, CaseIterable, Codable {
    case inHours = "in"
    case outOfHours = "out"

    /// `in-hours` or `out-of-hours`, for messages.
    public var name: String { self == .inHours ? "in-hours" : "out-of-hours" }
}
