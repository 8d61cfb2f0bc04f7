/// How long the client waits, in seconds, at each step (RFC 5321 section 4.5.3.2: initial
/// 220 5 min, MAIL 5 min, RCPT 5 min, DATA initiation 2 min, each data block 3 min, the
/// reply after the final dot 10 min; the section's other commands are given 5 min here).
public struct SMTPClientTimeouts: Sendable, Equatable {
    public var connect: Double = 30
    public var greeting: Double = 300
    public var command: Double = 300
    public var dataInitiation: Double = 120
    public var dataBlock: Double = 180
    public var dataTermination: Double = 600

    public init() {}

    /// Every timeout set to `seconds` (for tests).
    public init(all seconds: Double) {
        connect = seconds
        greeting = seconds
        command = seconds
        dataInitiation = seconds
        dataBlock = seconds
        dataTermination = seconds
    }
}
