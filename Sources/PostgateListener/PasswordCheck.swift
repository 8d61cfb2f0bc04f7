import NIOCore
import NIOPosix

/// A login's password check in two steps, so that password guessing cannot make working
/// agents wait: first the verification cache (a quick lookup, on the listener's ordinary
/// pool), and only on a miss the slow check (scrypt) on the password-check pool, whose few
/// threads the guessers' checks keep busy. A correct password an agent's mail client used a
/// moment ago (clients open several connections and reconnect often) is answered at once.
/// A wrong password never hits the cache, so it always pays the slow check.
public enum PasswordCheck {
    /// `cached` answers from the cache (nil: not there); `full` checks for real.
    public static func run<Identity: Sendable>(
        cached: @escaping @Sendable () throws -> Identity?, full: @escaping @Sendable () throws -> Identity?,
        lookupPool: NIOThreadPool, checkPool: NIOThreadPool, eventLoop: any EventLoop
    ) -> EventLoopFuture<Identity?> {
        lookupPool.runIfActive(eventLoop: eventLoop, cached).flatMap { hit in
            if let hit { return eventLoop.makeSucceededFuture(hit) }
            return checkPool.runIfActive(eventLoop: eventLoop, full)
        }
    }
}
