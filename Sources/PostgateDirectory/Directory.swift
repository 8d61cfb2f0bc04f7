import PostgateIndex
import PostgateMaildir

/// The channel directory behind `MailStore`: domains, addresses with their settings and
/// drafts, mailbox connectors (gateways), queues and filters, agents and their folders,
/// blocklists and quarantine, DKIM key rows, API tokens and the audit log, webhook subscriptions and their outbox, bots. This is the seam a second backend implements
/// (`SQLiteDirectory` keeps it in the index file); the protocols it combines only group its
/// requirements by concern.
package protocol Directory: AddressDirectory, ChannelDirectory, GatewayDirectory, AgentDirectory, DKIMKeyDirectory, PolicyIndex, AccessDirectory, WebhookDirectory, BotDirectory, ResponseDirectory {}
