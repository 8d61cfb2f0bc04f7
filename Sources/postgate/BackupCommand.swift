import ArgumentParser
import Foundation
import PostgateStore
import PostgateMaildir
import PostgateIndex

/// `postgate backup DEST`: a consistent copy of the data directory while `serve` runs.
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the data directory into a new directory, safely while `postgate serve` runs.",
        discussion: """
        The index is copied first with SQLite's online backup (a snapshot that does not stop \
        deliveries), then every other file, hard links kept. Every message acknowledged before \
        the snapshot is in the backup; rows of messages expunged (and replies delivered) before \
        their files were copied are left out. The copy is flushed to disk and only then named \
        DEST: an interrupted backup is left as DEST.partial-PID. Restore with `postgate restore`. \
        With --json: {destination, snapshotAt, messages, expungedDuringCopy, outboundDoneDuringCopy, files, bytes}.
        """
    )

    @Argument(help: ArgumentHelp("the new directory to write the backup into (must not exist)", valueName: "DEST"))
    var destination: String

    @OptionGroup var options: StoreOptions

    func run() throws {
        let store = try options.openStore()
        let inside = (try? Self.isInside(destination, store.dataPath)) ?? false
        guard !inside else { fail("\(destination) is inside the data directory \(store.dataPath); back up to another directory") }
        var bar = ProgressBar(label: "backup")
        let report = try reportingFailure { () throws(StoreError) in
            try store.backup(to: destination) { files, total in bar.update(files, of: total) }
        }
        bar.finish()
        try options.print(report) { Self.render(report) }
    }

    static func render(_ report: BackupReport) -> String {
        var text = "backup in \(report.destination): index snapshot at \(report.snapshotAt.formatted(.iso8601)), "
            + "\(report.messages) message row(s), \(report.files) file(s), \(report.bytes) bytes\n"
        if report.expungedDuringCopy > 0 {
            text += "\(report.expungedDuringCopy) message(s) expunged during the copy were left out\n"
        }
        if report.outboundDoneDuringCopy > 0 {
            text += "\(report.outboundDoneDuringCopy) queued repl(ies) delivered during the copy were left out\n"
        }
        return text
    }

    /// Whether `path` (which need not exist yet) lies inside `root`.
    static func isInside(_ path: String, _ root: String) throws -> Bool {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().resolvingSymlinksInPath().path
        let base = URL(fileURLWithPath: root).standardizedFileURL.resolvingSymlinksInPath().path
        return absolute == base || absolute.hasPrefix(base + "/")
    }
}

/// `postgate restore BACKUP --data DIR`: a backup made by `postgate backup` into a new data directory.
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a backup made by `postgate backup` into a new or empty data directory, then check it.",
        discussion: """
        Copies BACKUP into the data directory (--data, which must not exist or be empty), indexes \
        again any message file that has a UID but no row, then runs the checks of `postgate check` \
        and exits 1 if one is an error. `postgate serve` on the result finishes what the \
        snapshot's delivery journal holds, as after a crash. With --json: \
        {backup, indexedAgain, findings, errors, warnings}.
        """
    )

    @Argument(help: ArgumentHelp("a directory `postgate backup` made", valueName: "BACKUP"))
    var backup: String

    @OptionGroup var options: StoreOptions

    struct Report: Encodable {
        var backup: BackupReport
        var indexedAgain: Int
        var findings: [CheckFinding]
        var errors: Int
        var warnings: Int
    }

    func run() throws {
        var bar = ProgressBar(label: "restore")
        let destination = options.dataDirectory
        let (backupReport, added) = try reportingFailure { () throws(StoreError) in
            try MailStore.restore(from: backup, to: destination) { files, total in bar.update(files, of: total) }
        }
        bar.finish()
        let store = try options.openStore()
        let findings = try reportingFailure { () throws(StoreError) in try store.check() }
        let report = Report(backup: backupReport, indexedAgain: added, findings: findings,
                            errors: findings.count { $0.severity == .error }, warnings: findings.count { $0.severity == .warning })
        try options.print(report) {
            "restored the backup of \(backupReport.snapshotAt.formatted(.iso8601)) into \(destination); "
                + "\(added) message(s) indexed again from their files\n" + CheckCommand.render(.init(findings: findings, errors: report.errors, warnings: report.warnings))
        }
        if report.errors > 0 { throw ExitCode.failure }
    }
}
