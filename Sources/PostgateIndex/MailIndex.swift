/// The message index behind `MailStore`: mailboxes, messages, their flags and
/// mod-sequences, sessions, and the IMAP read models. This is the seam a second backend
/// implements (`SQLiteMessageIndex` on the index file); the protocols it combines only group
/// its requirements: what delivery and recovery need, and what IMAP's message operations need.
package protocol MailIndex: MessageIndex, MessageOperations, FetchLedger {}
