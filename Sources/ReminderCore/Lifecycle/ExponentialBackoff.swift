/// Capped exponential backoff with jitter, the one way anything here waits before trying
/// again: a reminder's channel after a transient failure (`RetryPolicy`) and the
/// service's own calls to the database and the broker. Pure: the random draw is passed
/// in, so a test chooses it.
public struct ExponentialBackoff: Sendable, Equatable {
    /// The delay after the first failure, before jitter.
    public var initialDelay: Duration
    /// Each further failure multiplies the delay by this.
    public var multiplier: Double
    /// No delay exceeds this (before jitter).
    public var maximumDelay: Duration
    /// The share of each delay that is random, in 0...1: a delay `d` becomes a value in
    /// `d × (1 - jitter) ... d`, so that callers failing together do not retry together.
    public var jitter: Double

    public init(initialDelay: Duration, multiplier: Double = 2, maximumDelay: Duration, jitter: Double) {
        self.initialDelay = initialDelay
        self.multiplier = multiplier
        self.maximumDelay = maximumDelay
        self.jitter = jitter
    }

    /// What is wrong with the backoff, or nil when it is usable.
    public var problem: String? {
        if initialDelay < .zero { return "the initial delay is negative" }
        if multiplier < 1 { return "the multiplier is below 1" }
        if maximumDelay < initialDelay { return "the maximum delay is below the initial delay" }
        if !(0...1).contains(jitter) { return "the jitter is outside 0...1" }
        return nil
    }

    /// The wait after the `failures`-th failure (1 for the first), given a uniform draw
    /// `random` in 0..<1.
    public func delay(afterFailures failures: Int, random: Double) -> Duration {
        let ceiling = maximumDelay.inSeconds
        var base = initialDelay.inSeconds
        // Multiplied step by step, not by a power: a huge failure count stops at the cap.
        var step = 1
        while step < failures && base < ceiling {
            base *= multiplier
            step += 1
        }
        base = min(base, ceiling)
        let jittered = base * (1 - jitter * min(max(random, 0), 1))
        return .microseconds(Int64((jittered * 1_000_000).rounded()))
    }
}
