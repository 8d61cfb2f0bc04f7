import ArgumentParser
import Foundation
import PostgateIndex
import PostgateMaildir
import PostgateOutbound
import PostgateStore

/// `postgate trace ID|MESSAGE-ID`: one message's story from the index, as the log lines
/// with its `queue_id` tell it.
struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Tell one message's story from the index: received, policy, queue, session, replies and their deliveries.",
        discussion: """
        ID is the queue id of an inbound message (the id of the SMTP "250 Ok: queued as" \
        reply, of the Received field, and of every log line about the message, queue_id=…), \
        the queue id of a reply (a number: the submission listener's 250 and the delivery \
        lines), or a Message-ID with or without its angle brackets. Several messages with one \
        Message-ID are each shown, with their flags now and each change agents made to them \
        over IMAP (when, who, added, removed). With --json: an object with query, messages (each with message: queueId, \
        receivedAt, mailFrom, from, subject, messageId, size, receivedVia and copies with \
        mailbox, uid, rcptTo, flags, flagChanges (at, agent, added, removed), policy, sessionId, \
        sessionReason; sessions as in \
        `session list --json`; replies as in `outbound show --json`) and outbound (the reply \
        asked for by its queue id, with its session). Exits 1 with one line when nothing matches.
        """
    )

    @Argument(help: ArgumentHelp("a queue id, a reply's queue id, or a Message-ID", valueName: "ID|MESSAGE-ID"))
    var id: String

    @OptionGroup var options: StoreOptions

    struct Story: Encodable {
        var message: TracedMessage
        var sessions: [SessionRecord]
        var replies: [OutboundMessageRecord]
    }

    struct Report: Encodable {
        var query: String
        var messages: [Story]
        var outbound: [OutboundMessageRecord]
        var outboundSessions: [SessionRecord]
    }

    func run() throws {
        let query = id.trimmingCharacters(in: .whitespaces)
        guard !query.isEmpty else { fail("trace needs a queue id or a Message-ID") }
        let store = try options.openStore()
        let queue = try options.openOutboundQueue()
        let report = try reportingFailure { () throws(StoreError) in try Self.report(query, store: store, queue: queue) }
        guard !report.messages.isEmpty || !report.outbound.isEmpty else {
            fail("no message with queue id or Message-ID \(query) in the index")
        }
        try options.print(report) { Self.render(report) }
    }

    static func report(_ query: String, store: MailStore, queue: OutboundQueue) throws(StoreError) -> Report {
        var report = Report(query: query, messages: [], outbound: [], outboundSessions: [])
        if let number = Int64(query) {
            let record: OutboundMessageRecord?
            do {
                record = try queue.message(number)
            } catch .messageNotFound {
                record = nil
            } catch .store(let error) {
                throw error
            } catch {
                throw .database(path: store.dataPath, reason: "\(error)")
            }
            if let record {
                report.outbound = [record]
                report.outboundSessions = try sessions([record.sessionId].compactMap { $0 }, store: store)
                return report
            }
        }
        var messages = try store.tracedMessage(queueID: query).map { [$0] } ?? []
        if messages.isEmpty { messages = try store.tracedMessages(messageID: query) }
        for message in messages {
            let sessionIDs = message.sessionIds
            report.messages.append(Story(message: message, sessions: try sessions(sessionIDs, store: store),
                                         replies: try queue.messages(sessionIDs: sessionIDs)))
        }
        return report
    }

    private static func sessions(_ ids: [Int64], store: MailStore) throws(StoreError) -> [SessionRecord] {
        var records: [SessionRecord] = []
        for id in ids {
            do { records.append(try store.sessionRecord(id: id)) } catch .sessionNotFound { continue }
        }
        return records
    }

    static func render(_ report: Report) -> String {
        var lines: [String] = []
        if report.messages.count > 1 {
            lines.append("\(report.messages.count) messages have the Message-ID \(report.query):")
        }
        for story in report.messages {
            if !lines.isEmpty { lines.append("") }
            lines += render(story.message)
            for session in story.sessions { lines.append(render(session)) }
            if story.replies.isEmpty, !story.sessions.isEmpty { lines.append("no replies in the session") }
            for reply in story.replies { lines += render(reply) }
        }
        for reply in report.outbound {
            lines += render(reply)
            for session in report.outboundSessions { lines.append(render(session)) }
        }
        return lines.joined(separator: "\n")
    }

    private static func render(_ message: TracedMessage) -> [String] {
        var lines = [
            "queue id \(message.queueId ?? "(none)"): received \(message.receivedAt.formatted(.iso8601)) from <\(message.mailFrom)>, \(message.size) bytes",
        ]
        if let via = message.receivedVia { lines.append("  received: \(via)") }
        lines.append("  Message-ID: \(message.messageId ?? "(none)")  From: \(message.from ?? "(none)")  Subject: \(message.subject ?? "(none)")")
        for copy in message.copies {
            var text = "  stored in \(copy.mailbox) uid \(copy.uid) for <\(copy.rcptTo)>"
            text += copy.policy.map { ", policy \($0)" } ?? ", delivered"
            if let session = copy.sessionId { text += ", session \(session)" + (copy.sessionReason.map { " (\($0))" } ?? "") }
            text += ", flags now: " + (copy.flags.isEmpty ? "none" : copy.flags.joined(separator: " "))
            lines.append(text)
            for change in copy.flagChanges {
                let what = change.added.map { "+" + $0 } + change.removed.map { "-" + $0 }
                lines.append("    \(change.at.formatted(.iso8601)) flags \(what.joined(separator: " ")) by \(change.agent ?? "(no agent)")")
            }
        }
        return lines
    }

    private static func render(_ session: SessionRecord) -> String {
        "  session \(session.id): \(session.customer) → \(session.address), \(session.status), \(session.mode) mode, "
            + "\(session.messageCount) message\(session.messageCount == 1 ? "" : "s"), last activity \(session.lastActivityAt.formatted(.iso8601))"
    }

    private static func render(_ reply: OutboundMessageRecord) -> [String] {
        let kind = reply.autoReply.map { "auto-reply (\($0))" } ?? "reply"
        var lines = [
            "  \(kind) queue id \(reply.id): queued \(reply.createdAt.formatted(.iso8601)) from <\(reply.sender)>, \(reply.size) bytes, \(reply.state)"
                + (reply.sessionId.map { ", session \($0)" } ?? ""),
        ]
        for recipient in reply.recipients {
            var text = "    to <\(recipient.address)>: \(recipient.state.rawValue), \(recipient.attempts) attempt\(recipient.attempts == 1 ? "" : "s")"
            if let last = recipient.lastAttemptAt { text += ", last \(last.formatted(.iso8601))" }
            if let reply = recipient.lastReply { text += ": \(reply)" }
            if recipient.state == .queued || recipient.state == .deferred { text += "; next \(recipient.nextAttemptAt.formatted(.iso8601))" }
            lines.append(text)
        }
        return lines
    }
}
