import Foundation
import PostgateDirectory
import PostgateMaildir

/// Retention passes and erasures in the audit log (`postgate audit`): what was removed,
/// as counts, never the content of a message.
extension MailStore {
    /// One event per address a retention pass removed something from (action
    /// `retention.run`); a pass that removed nothing records one event only when
    /// `recordNothing` (an administrator's run, not the daily task). A dry run records nothing.
    public func recordRetention(_ report: RetentionReport, actor: String, recordNothing: Bool, at: Date = Date()) throws(StoreError) {
        guard !report.dryRun else { return }
        for result in report.addresses {
            let messages = result.messages.values.reduce(0, +)
            _ = try recordAudit(actor: actor, action: "retention.run", target: result.address,
                                detail: "deleted \(messages) message(s) and \(result.sessions) session(s) older than \(result.retentionDays) day(s)",
                                at: at)
        }
        if report.addresses.isEmpty && recordNothing {
            _ = try recordAudit(actor: actor, action: "retention.run", target: "*", detail: "nothing to delete", at: at)
        }
    }

    /// One event for an erasure (action `erase`, the customer's address as target) with the
    /// counts of messages, sessions, participations and queued replies removed. A dry run
    /// records nothing.
    public func recordErasure(_ report: ErasureReport, actor: String, at: Date = Date()) throws(StoreError) {
        guard !report.dryRun else { return }
        _ = try recordAudit(actor: actor, action: "erase", target: report.customer, detail: """
            erased \(report.messageCount) message(s) in \(report.messages.count) mailbox(es), \(report.sessions) session(s), \
            \(report.participations) participation(s), \(report.outboundRecipients) queued reply recipient(s)
            """, at: at)
    }
}
