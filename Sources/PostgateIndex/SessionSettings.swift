import Foundation

/// How the store groups messages into sessions and recognises duplicates.
public struct SessionSettings: Sendable, Equatable {
    /// A session ends this long after the last message from its customer's side.
    public var idleTimeout: TimeInterval
    /// A message with a Message-ID already stored in the mailbox, from the same sender and
    /// arriving within this time, is a duplicate even if its content differs.
    public var duplicateWindow: TimeInterval
    /// How often `serve` looks for sessions to transfer (no agent reply) and to close (idle
    /// timeout, with the closing message).
    public var sweepInterval: TimeInterval

    public init(idleTimeout: TimeInterval = 7 * 86400, duplicateWindow: TimeInterval = 86400, sweepInterval: TimeInterval = 60) {
        self.idleTimeout = idleTimeout
        self.duplicateWindow = duplicateWindow
        self.sweepInterval = sweepInterval
    }
}
