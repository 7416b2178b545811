/// Capped exponential backoff with jitter: attempt 1 waits about `initial`, each next
/// one twice as long, never more than `maximum`; the jitter (±`jitter` of the delay)
/// spreads instances that failed together.
public struct Backoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration
    public var jitter: Double

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(5), jitter: Double = 0.2) {
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter
    }

    /// The delay before retry number `attempt` (1-based); `random` in 0..<1.
    public func delay(attempt: Int, random: Double) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let base = min(initial * (1 << exponent), maximum)
        let factor = 1 + jitter * (random * 2 - 1)
        return min(base * factor, maximum)
    }
}
