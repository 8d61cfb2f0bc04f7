import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A one-line progress bar on standard error, drawn only when standard error is a
/// terminal (so scripts and logs never see it), redrawn when the whole percentage changes.
struct ProgressBar {
    let label: String
    private let enabled = isatty(STDERR_FILENO) == 1
    private var lastPercent = -1
    private static let width = 30

    init(label: String) {
        self.label = label
    }

    mutating func update(_ done: Int, of total: Int) {
        guard enabled, total > 0 else { return }
        let percent = min(100, done * 100 / total)
        guard percent != lastPercent else { return }
        lastPercent = percent
        let filled = percent * Self.width / 100
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: Self.width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(percent)%".utf8))
    }

    /// Ends the bar's line, if one was drawn.
    mutating func finish() {
        guard enabled, lastPercent >= 0 else { return }
        FileHandle.standardError.write(Data("\n".utf8))
        lastPercent = -1
    }
}
