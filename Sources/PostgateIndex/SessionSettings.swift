import Foundation

/// How the store groups messages into sessions and recognises duplicates.
public struct SessionSettings: Sendable, Equatable {
    /// A session ends this long after the last message from its customer's side.
    public var idleTimeout: TimeInterval
    /// A message with a Message-ID already stored in the mailbox, from the same sender and
    /// arriving within this time, is a duplicate even if its content differs.
    public var duplicateWindow: TimeInterval

    public init(idleTimeout: TimeInterval = 7 * 86400, duplicateWindow: TimeInterval = 86400) {
        self.idleTimeout = idleTimeout
        self.duplicateWindow = duplicateWindow
    }
}
