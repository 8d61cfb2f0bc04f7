import PostgateIndex
/// An address's routing rules as stored (its email filters): its ordered filters, its
/// default queue, and the mailbox of every queue they name. Deciding a message's queue from
/// it reads nothing more, so the delivery path can keep it between messages
/// (`DirectorySnapshot`).
public struct RoutePlan: Sendable {
    public var filters: [FilterRule]
    public var defaultQueue: String?
    /// Queue name to its shared mailbox, for the queues above that still exist.
    public var queues: [String: MailboxTarget]

    /// The first matching filter's queue, else the default queue; nil when the chosen queue
    /// is gone (the message then stays in the address's mailbox only).
    public func route(_ facts: RoutingFacts) -> QueueTarget? {
        guard let name = filters.first(where: { $0.matches(facts) })?.queue ?? defaultQueue,
              let mailbox = queues[name] else { return nil }
        return QueueTarget(queue: name, mailbox: mailbox)
    }
}
