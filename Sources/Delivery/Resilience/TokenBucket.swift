import ReminderCore

/// A token bucket: `rate` tokens a second, at most `burst` saved up. Pure; the caller
/// passes the instant and waits for the returned delay (excess waits, it is never
/// dropped).
public struct TokenBucket: Sendable, Equatable {
    public struct Configuration: Sendable, Equatable {
        /// Tokens per second.
        public var rate: Double
        public var burst: Double

        public init(rate: Double, burst: Double) {
            self.rate = rate
            self.burst = burst
        }
    }

    public let configuration: Configuration
    private var tokens: Double
    private var updatedAt: ContinuousClock.Instant

    public init(configuration: Configuration, now: ContinuousClock.Instant) {
        self.configuration = configuration
        tokens = configuration.burst
        updatedAt = now
    }

    /// Takes one token at `now`: `.zero` when one was there, otherwise how long the
    /// caller waits for its token (which is already reserved: taking never fails, so
    /// callers are served in the order they asked).
    public mutating func take(at now: ContinuousClock.Instant) -> Duration {
        if now > updatedAt {
            let elapsed = now - updatedAt
            let seconds = elapsed.inSeconds
            tokens = min(configuration.burst, tokens + seconds * configuration.rate)
            updatedAt = now
        }
        tokens -= 1
        guard tokens < 0 else { return .zero }
        return .microseconds(Int64((-tokens / configuration.rate * 1_000_000).rounded(.up)))
    }
}
