/// Token buckets shared by every instance, one per provider account, so that N instances
/// together send at most the account's rate. `RateLimitStore` keeps them in PostgreSQL;
/// `MemoryRateLimitStore` (ReminderStoreTesting) in memory, for tests of the logic above
/// the store.
public protocol RateLimitStoring: Sendable {
    /// Takes up to `count` whole tokens from the bucket `name`, atomically: the bucket is
    /// first refilled at `rate` tokens a second for the time since it was last touched,
    /// up to `burst` (a bucket used for the first time starts full). Every instance must
    /// pass the same `rate` and `burst` for a name.
    func take(_ count: Int, from name: String, rate: Double, burst: Double) async throws(StoreError) -> RateLimitGrant
}

/// What a `take` got.
public struct RateLimitGrant: Sendable, Equatable {
    /// Tokens taken, `0...count`.
    public let granted: Int
    /// Tokens left in the bucket after the take (below 1 when fewer than asked were granted).
    public let remaining: Double

    public init(granted: Int, remaining: Double) {
        self.granted = granted
        self.remaining = remaining
    }
}
