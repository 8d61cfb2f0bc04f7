import NIOCore
import NIOPosix
import PostgateBlocking
import Testing

/// Where `BlockingWork` allows blocking (a thread pool's thread, not an event loop or a
/// task), and how `runToCompletion` hands work to the pool.
@Suite struct BlockingWorkTests {
    @Test func notAllowedInATask() async {
        #expect(!BlockingWork.isAllowedHere)
    }

    @Test func notAllowedOnAnEventLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let allowed = try await group.next().submit { BlockingWork.isAllowedHere }.get()
        try await group.shutdownGracefully()
        #expect(!allowed)
    }

    @Test func allowedOnAThreadPool() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let allowed = try await pool.runToCompletion { BlockingWork.isAllowedHere }
        try await pool.shutdownGracefully()
        #expect(allowed)
    }

    /// A cancelled task still gets its work done, as if it had run inline (`runIfActive`
    /// would throw `CancellationError` instead).
    @Test func workOfACancelledTaskIsDone() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await pool.runToCompletion { 42 }
        }
        let result = try await task.value
        try await pool.shutdownGracefully()
        #expect(result == 42)
    }

    @Test func aPoolNotRunningRefusesWork() async {
        let pool = NIOThreadPool(numberOfThreads: 1)
        await #expect(throws: NIOThreadPoolError.ThreadPoolInactive.self) {
            try await pool.runToCompletion { 1 }
        }
    }
}
