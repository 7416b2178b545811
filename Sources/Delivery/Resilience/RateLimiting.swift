import Synchronization

/// A provider's rate limit as `GuardedProvider` uses it: a send waits for its turn and is
/// never dropped. `LocalRateLimit` counts in this process; a limit shared by every
/// instance (the service's `SharedRateLimit`) counts in the database.
public protocol RateLimiting: Sendable {
    /// Returns when one send may go, or sooner when the task is cancelled (the caller
    /// then does not send).
    func acquire() async
}

/// A token bucket of this process alone: N instances with it send at N times its rate.
public final class LocalRateLimit: RateLimiting {
    private let bucket: Mutex<TokenBucket>
    private let now: @Sendable () -> ContinuousClock.Instant

    public init(
        _ configuration: TokenBucket.Configuration,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    ) {
        self.now = now
        bucket = Mutex(TokenBucket(configuration: configuration, now: now()))
    }

    public func acquire() async {
        // The token is reserved before the wait: callers are served in the order they asked.
        let wait = bucket.withLock { $0.take(at: now()) }
        if wait > .zero { try? await Task.sleep(for: wait) }
    }
}
