import Dispatch
import NIOCore
import NIOPosix
import PostgateListener
import Synchronization
import Testing

/// `PasswordCheck`: a cached answer does not wait for the password-check pool; a miss does.
@Suite struct PasswordCheckTests {
    /// Holds the one check thread until `release` is called, as guessers' scrypt checks do.
    final class Gate: Sendable {
        private let semaphore = DispatchSemaphore(value: 0)
        func wait() { semaphore.wait() }
        func release() { semaphore.signal() }
    }

    /// Broken, the cached answer would wait behind the held thread: the time limit fails it.
    @Test(.timeLimit(.minutes(1))) func aCachedAnswerIsGivenWhileThePasswordChecksAreBusy() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let lookup = NIOThreadPool(numberOfThreads: 1)
        let checks = NIOThreadPool(numberOfThreads: 1)
        lookup.start()
        checks.start()
        let gate = Gate()
        let loop = group.next()
        let busy = checks.runIfActive(eventLoop: loop) { gate.wait() }
        let fullChecks = Atomic(0)

        let hit = try await PasswordCheck.run(cached: { "alice" }, full: { fullChecks.add(1, ordering: .relaxed); return "alice" },
                                              lookupPool: lookup, checkPool: checks, eventLoop: loop).get()
        #expect(hit == "alice" && fullChecks.load(ordering: .relaxed) == 0)

        let miss = PasswordCheck.run(cached: { String?.none }, full: { fullChecks.add(1, ordering: .relaxed); return "bob" },
                                     lookupPool: lookup, checkPool: checks, eventLoop: loop)
        gate.release()
        #expect(try await miss.get() == "bob" && fullChecks.load(ordering: .relaxed) == 1)
        try await busy.get()
        try await lookup.shutdownGracefully()
        try await checks.shutdownGracefully()
        try await group.shutdownGracefully()
    }
}
