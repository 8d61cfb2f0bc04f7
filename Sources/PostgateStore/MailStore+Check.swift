import Foundation
import PostgateMaildir
import PostgateIndex

/// `postgate check`: read-only consistency checks of the data directory.
extension MailStore {
    /// How many file names a finding lists before it says "and N more".
    package static let checkListLimit = 5

    /// Checks the index database, every mailbox against its Maildir, the channel
    /// addresses and the DKIM keys. Changes nothing; run it while the server is stopped
    /// or running (a delivery in flight may show as a file in `tmp/`).
    public func check(now: Date = Date()) throws(StoreError) -> [CheckFinding] {
        var findings = try index.integrityProblems().map { CheckFinding("database", .error, $0) }
        if findings.isEmpty { findings.append(CheckFinding("database", .ok, "integrity and foreign keys check out")) }
        for mailbox in try index.mailboxes() {
            findings += try check(mailbox)
        }
        findings += try lostMailboxFindings()
        findings += try checkJournal()
        findings += try checkAddresses()
        findings += try checkDKIM(now: now)
        findings += try checkGateways()
        findings.append(checkFreeSpace())
        return findings
    }

    /// Free space on the data directory's filesystem: an error below 256 MiB (a delivery
    /// may soon fail to write its file), a warning below 2 GiB.
    func checkFreeSpace() -> CheckFinding {
        let subject = "disk"
        guard let space = FileSystem.freeSpace(data.root) else {
            return CheckFinding(subject, .warning, "cannot tell the free space of \(data.root)")
        }
        let mib = space.available / (1024 * 1024)
        let percent = space.total > 0 ? space.available * 100 / space.total : 100
        let text = "\(mib) MiB free (\(percent) %) on the filesystem of \(data.root)"
        if mib < 256 {
            return CheckFinding(subject, .error, text + "; free space or move the data directory before deliveries fail")
        }
        if mib < 2048 {
            return CheckFinding(subject, .warning, text)
        }
        return CheckFinding(subject, .ok, text)
    }

    /// Each receiving gateway's live state: failed is an error (it waits for the
    /// administrator), failing or cooling off a warning with the last error in one line.
    private func checkGateways() throws(StoreError) -> [CheckFinding] {
        try gatewayListings().filter { $0.direction == .receiving }.map { listing in
            let subject = "connector \(listing.address)"
            guard listing.status == .active else { return CheckFinding(subject, .ok, "a draft, not yet published") }
            guard let state = listing.state else { return CheckFinding(subject, .ok, "published; not yet run by the server") }
            let error = (state.lastError ?? "").split(whereSeparator: \.isNewline).joined(separator: " ")
            let tries = "\(state.tries) of \(listing.maxTries.map(String.init) ?? "?") tries"
            switch state.state {
            case .failed:
                return CheckFinding(subject, .error, "failed: \(error); fix it, then `postgate connector retry \(listing.address)`")
            case .coolingOff:
                let until = state.coolingUntil.map { " until \($0.formatted(.iso8601))" } ?? ""
                return CheckFinding(subject, .warning, "cooling off\(until) after \(tries): \(error)")
            case .failing:
                return CheckFinding(subject, .warning, "failing (\(tries)): \(error)")
            case .connected, .idle, .skipped:
                let last = state.lastSuccessAt.map { "last fetch \($0.formatted(.iso8601))" } ?? "no fetch yet"
                return CheckFinding(subject, .ok, "\(state.state.rawValue), \(last), \(state.fetched) fetched, \(state.skipped) skipped")
            }
        }
    }

    /// Messages still in the delivery journal (`DeliveryJournal`): normal for a moment
    /// while the server runs; after an unclean stop, their files may be missing or cut
    /// until `postgate serve` writes them again at start.
    private func checkJournal() throws(StoreError) -> [CheckFinding] {
        let count = try journal.entries().count
        guard count > 0 else { return [] }
        return [CheckFinding("delivery journal", .warning,
            "\(count) message(s) whose Maildir files are not yet flushed: normal while `postgate serve` runs; after an unclean stop `postgate serve` rewrites them at start")]
    }

    /// Rows whose file is gone, files without a row, leftovers in `tmp/`.
    private func check(_ mailbox: MailboxState) throws(StoreError) -> [CheckFinding] {
        let subject = "mailbox \(mailbox.path)"
        let maildir = data.maildir(mailbox.path)
        let rows = Set(try index.messages(mailboxID: mailbox.id).map(\.filename))
        let files = Set(try maildir.messageFiles().map { MaildirFileName(parsing: $0.name)?.baseName ?? $0.name })
        var findings: [CheckFinding] = []
        let missing = rows.subtracting(files)
        if !missing.isEmpty {
            findings.append(CheckFinding(subject, .error, "\(missing.count) indexed message file(s) missing from the Maildir: \(Self.list(missing))"))
        }
        let unindexed = files.subtracting(rows)
        if !unindexed.isEmpty {
            findings.append(CheckFinding(subject, .warning,
                "\(unindexed.count) file(s) not in the index (`postgate check --repair` re-indexes those with U=): \(Self.list(unindexed))"))
        }
        let leftovers = try maildir.tmpNames()
        if !leftovers.isEmpty {
            findings.append(CheckFinding(subject, .warning,
                "\(leftovers.count) file(s) in tmp/: a delivery in flight, or an unclean stop that `postgate serve` recovers at start"))
        }
        if findings.isEmpty { findings.append(CheckFinding(subject, .ok, "\(rows.count) message(s), index and Maildir agree")) }
        return findings
    }

    /// Enabled addresses need a default queue (else mail has no queue); unpublished drafts are pointed out.
    private func checkAddresses() throws(StoreError) -> [CheckFinding] {
        try addresses().compactMap { record in
            let subject = "address \(record.email)"
            if record.enabled && record.settings.defaultQueue == nil {
                return CheckFinding(subject, .error, "enabled without a default queue: `postgate address set \(record.email) --queue NAME --publish`")
            }
            if record.hasDraft {
                return CheckFinding(subject, .warning, "has unpublished changes: `postgate address diff \(record.email)`, then `postgate publish`")
            }
            return nil
        }
    }

    /// Every DKIM key's file is present and private; a key not verified in DNS is pointed out.
    private func checkDKIM(now: Date) throws(StoreError) -> [CheckFinding] {
        try dkimKeys().map { entry in
            let subject = "dkim \(entry.unicodeDomain) \(entry.selector)"
            let path = data.absolute(entry.keyPath)
            guard let mode = FileSystem.permissions(path) else {
                return CheckFinding(subject, .error, "private key file \(path) is missing: `postgate dkim rotate \(entry.unicodeDomain) --selector NEW`")
            }
            if mode & 0o077 != 0 {
                return CheckFinding(subject, .error, "private key file \(path) is readable by others (mode \(String(mode, radix: 8))): chmod 600 it")
            }
            guard entry.status == "Success" else {
                return CheckFinding(subject, .warning, "DNS status \(entry.status): publish \(entry.recordName) TXT, then `postgate dkim verify \(entry.unicodeDomain)`")
            }
            return CheckFinding(subject, .ok, "key present, verified in DNS")
        }
    }

    private static func list(_ names: Set<String>) -> String {
        let sorted = names.sorted()
        let shown = sorted.prefix(checkListLimit).joined(separator: ", ")
        return sorted.count > checkListLimit ? shown + " and \(sorted.count - checkListLimit) more" : shown
    }
}
