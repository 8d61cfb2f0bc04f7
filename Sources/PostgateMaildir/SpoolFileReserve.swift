import Dispatch
import Foundation
import Synchronization

/// A few empty spool files made ahead of need, so that receiving a message does not wait
/// for a new file to be created.
///
/// Creating a file costs an inode allocation and a directory entry, which on a busy
/// filesystem is far from free (ext4 without a journal, for one, walks past every inode
/// freed in the last minutes before it reuses one), and it would sit on each delivery's
/// critical path. `take()` hands out a file created earlier instead, and a background queue
/// makes the next ones while the sessions do other work. When the reserve is empty (many
/// sessions at once) a caller creates its file itself.
///
/// The files are ordinary spool files, named with Maildir unique names: recovery removes
/// any left by a crash with the rest of `spool/`, and `deinit` removes the unused ones.
package final class SpoolFileReserve: Sendable {
    private struct State {
        var ready: [(name: String, descriptor: Int32)] = []
        var refilling = false
        var enabled = false
    }

    private let state = Mutex(State())
    private let directory: String
    private let names: MaildirUniqueName
    private let queue = DispatchQueue(label: "postgate.spool-reserve", qos: .utility)

    /// How many files are kept ready: enough for a few sessions ending their DATA at once.
    package static let capacity = 4

    package init(directory: String, names: MaildirUniqueName) {
        self.directory = directory
        self.names = names
    }

    deinit {
        state.withLock { $0.ready }.forEach(remove)
    }

    /// Stops keeping files ready and removes the unused ones (at shutdown).
    package func release() {
        let unused = state.withLock { state in
            state.enabled = false
            defer { state.ready = [] }
            return state.ready
        }
        unused.forEach(remove)
    }

    /// Starts keeping files ready (a long-running `postgate serve`; a command that delivers
    /// a message or two and exits needs none).
    package func enable() {
        state.withLock { $0.enabled = true }
        scheduleRefill()
    }

    /// The number of files ready now.
    package var readyCount: Int {
        state.withLock { $0.ready.count }
    }

    /// A new, empty spool file opened for writing (`O_EXCL`): one from the reserve, or one
    /// created now if none is ready. Either way the reserve is topped up in the background.
    package func take() throws(StoreError) -> (name: String, descriptor: Int32) {
        let file = state.withLock { $0.ready.popLast() }
        scheduleRefill()
        if let file { return file }
        let name = names.next()
        return (name, try FileSystem.createFile(directory + "/" + name))
    }

    private func scheduleRefill() {
        let start = state.withLock { state in
            guard state.enabled, !state.refilling, state.ready.count < Self.capacity else { return false }
            state.refilling = true
            return true
        }
        guard start else { return }
        queue.async { [weak self] in self?.refill() }
    }

    private func refill() {
        while state.withLock({ $0.enabled && $0.ready.count < Self.capacity }) {
            let name = names.next()
            guard let descriptor = try? FileSystem.createFile(directory + "/" + name) else { break }
            let kept = state.withLock { state in
                guard state.enabled else { return false }
                state.ready.append((name, descriptor))
                return true
            }
            if !kept { remove((name, descriptor)) }
        }
        state.withLock { $0.refilling = false }
    }

    private func remove(_ file: (name: String, descriptor: Int32)) {
        FileSystem.close(file.descriptor)
        try? FileSystem.unlink(directory + "/" + file.name)
    }
}
