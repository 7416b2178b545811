import ReminderCore
import ReminderStore
import Synchronization

/// The shared token buckets in memory, refilled by an injected clock exactly as
/// `RateLimitStore` refills them by the database's; it keeps every take for the test to
/// read, and can be told to fail like an unreachable database.
public final class MemoryRateLimitStore: RateLimitStoring {
    /// One take, as the store answered it.
    public struct Take: Sendable, Equatable {
        public let name: String
        public let at: ContinuousClock.Instant
        public let asked: Int
        public let granted: Int
    }

    private struct Bucket {
        var tokens: Double
        var updatedAt: ContinuousClock.Instant
    }

    private struct State {
        var buckets: [String: Bucket] = [:]
        var takes: [Take] = []
        var failures = ToldFailures()
    }

    private let state = Mutex(State())
    private let now: @Sendable () -> ContinuousClock.Instant

    public init(now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.now = now
    }

    /// Every take so far, in order.
    public var takes: [Take] { state.withLock { $0.takes } }

    /// The next `count` takes fail as a dropped connection would.
    public func failNext(_ count: Int) {
        state.withLock { $0.failures.remaining = count }
    }

    public func take(
        _ count: Int, from name: String, rate: Double, burst: Double
    ) async throws(StoreError) -> RateLimitGrant {
        let result: Result<RateLimitGrant, StoreError> = state.withLock { state in
            // Read under the lock, as the database reads its clock under the row's lock:
            // takes are in the order of their instants.
            let at = now()
            if let failure = state.failures.next("take rate-limit tokens") { return .failure(failure) }
            var bucket = state.buckets[name] ?? Bucket(tokens: burst, updatedAt: at)
            let elapsed = max(.zero, at - bucket.updatedAt)
            let available = min(burst, bucket.tokens + rate * elapsed.inSeconds)
            let granted = min(count, max(0, Int(available.rounded(.down))))
            bucket.tokens = available - Double(granted)
            bucket.updatedAt = max(at, bucket.updatedAt)
            state.buckets[name] = bucket
            state.takes.append(Take(name: name, at: at, asked: count, granted: granted))
            return .success(RateLimitGrant(granted: granted, remaining: bucket.tokens))
        }
        return try result.get()
    }
}
