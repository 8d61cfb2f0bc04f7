/// Every metric the gateway exposes: its name and help text, in one place, so that names
/// follow the Prometheus conventions (https://prometheus.io/docs/practices/naming/: a
/// `postgate_` prefix, base units as suffixes, `_total` on counters) and every family has a
/// `# HELP` line. Label values are from fixed sets (listener kinds, outcomes, reasons,
/// command names), never addresses, hosts or other customer data.
public enum MetricName {
    // SMTP (MX, submission and submissions listeners), label `listener`.
    public static let smtpSessionsOpened = "postgate_smtp_sessions_opened_total"
    public static let smtpSessionsClosed = "postgate_smtp_sessions_closed_total"
    /// Label `outcome`: accepted, refused (the message data was refused), failed (storing it failed).
    public static let smtpTransactions = "postgate_smtp_transactions_total"
    /// Label `reason`: see `SMTPRefusalReason`.
    public static let smtpRefusals = "postgate_smtp_refusals_total"
    public static let smtpTransactionDuration = "postgate_smtp_transaction_duration_seconds"
    public static let smtpCommitDuration = "postgate_smtp_commit_duration_seconds"

    // Inbound delivery (MX and receiving gateways), counted once a message is durable.
    /// Label `policy`: the copy's `message.policy` label (blocked, auto-reply, quarantined:…), or deliver.
    public static let inboundMessages = "postgate_inbound_messages_total"
    public static let inboundQueueRouted = "postgate_inbound_queue_routed_total"

    // Conversation sessions (no label: queues are often named after addresses).
    public static let sessionsOpened = "postgate_sessions_opened_total"
    public static let sessionsClosed = "postgate_sessions_closed_total"

    // IMAP (IMAP and IMAPS listeners), label `listener`.
    public static let imapConnectionsOpened = "postgate_imap_connections_opened_total"
    public static let imapConnectionsClosed = "postgate_imap_connections_closed_total"
    /// Label `command`: a command that runs on the store (its name, or `other`).
    public static let imapCommandDuration = "postgate_imap_command_duration_seconds"

    // Outbound delivery.
    /// Label `result`: delivered, deferred, failed; one per recipient and attempt.
    public static let outboundDeliveryAttempts = "postgate_outbound_delivery_attempts_total"
    /// Label `state`: queued, deferred. Read from the queue when scraped.
    public static let outboundQueueRecipients = "postgate_outbound_queue_recipients"
    public static let outboundOldestDeferredAge = "postgate_outbound_oldest_deferred_age_seconds"

    // DKIM.
    /// Label `result`: signed, unsigned (a custom domain's key record is not verified).
    public static let dkimSignatures = "postgate_dkim_signatures_total"
    /// Label `result`: pass, fail, neutral, temperror, permerror (RFC 8601), none.
    public static let dkimVerifications = "postgate_dkim_verifications_total"

    // Webhooks.
    /// Label `result`: delivered, failed; one per attempt.
    public static let webhookDeliveries = "postgate_webhook_deliveries_total"

    // Connectors, read when scraped.
    /// Labels `direction` (receiving, sending) and `state`.
    public static let connectors = "postgate_connectors"

    // The store, read when scraped.
    public static let storeFreeBytes = "postgate_store_free_bytes"
    public static let storeCapacityBytes = "postgate_store_capacity_bytes"
    /// Label `part`: messages (the sizes of the indexed message copies: a message linked
    /// into several mailboxes counts once per mailbox), index (the SQLite file and its WAL).
    /// Read in full at most every five minutes; deliveries add to it in between.
    public static let storeSizeBytes = "postgate_store_size_bytes"

    /// The help text of each family.
    static let help: [String: String] = [
        smtpSessionsOpened: "SMTP sessions accepted by a listener.",
        smtpSessionsClosed: "SMTP sessions that ended.",
        smtpTransactions: "SMTP mail transactions that reached the end of their message data, by outcome.",
        smtpRefusals: "SMTP replies that refused a command or a message (4xx and 5xx), by reason.",
        smtpTransactionDuration: "Time from a MAIL command to the 250 reply that acknowledges its message.",
        smtpCommitDuration: "Time from the end of the message data to the message being durable.",
        inboundMessages: "Copies of inbound messages stored, one per receiving mailbox, by policy label.",
        inboundQueueRouted: "Copies of inbound messages routed to an agents' queue.",
        sessionsOpened: "Conversation sessions opened by an inbound message.",
        sessionsClosed: "Conversation sessions closed because the customer's next message started a new one.",
        imapConnectionsOpened: "IMAP connections accepted by a listener.",
        imapConnectionsClosed: "IMAP connections that ended.",
        imapCommandDuration: "Time an IMAP command took on the store, from its line to its tagged response, by command.",
        outboundDeliveryAttempts: "Outbound delivery attempts, one per recipient and attempt, by result.",
        outboundQueueRecipients: "Outbound recipients waiting in the queue, by state.",
        outboundOldestDeferredAge: "Age of the oldest outbound message with a deferred recipient (0 when none).",
        dkimSignatures: "Outbound replies DKIM-signed, or sent unsigned.",
        dkimVerifications: "DKIM signatures of inbound messages checked, by result; none for a message without one.",
        webhookDeliveries: "Webhook deliveries attempted, by result.",
        connectors: "Mailbox connectors by direction and state.",
        storeFreeBytes: "Bytes available to the gateway on the data directory's filesystem.",
        storeCapacityBytes: "Size in bytes of the data directory's filesystem.",
        storeSizeBytes: "Bytes the store holds, by part: the message copies in the Maildirs and the SQLite index.",
    ]
}
