/// When to try a channel again after a transient failure: exponential backoff, capped,
/// with jitter, and a maximum number of attempts. Pure: the random draw is passed in.
public struct RetryPolicy: Sendable, Equatable {
    /// The delay after the first failure, before jitter.
    public var initialDelay: Duration
    /// Each further failure multiplies the delay by this.
    public var multiplier: Double
    /// No delay exceeds this (before jitter).
    public var maximumDelay: Duration
    /// Attempts on a channel, the first included; after that many transient failures the
    /// channel counts as exhausted.
    public var maximumAttempts: Int
    /// The share of each delay that is random, in 0...1: a delay `d` becomes a value in
    /// `d × (1 - jitter) ... d`, so that reminders failing together do not retry together.
    public var jitter: Double

    public static let `default` = RetryPolicy(
        initialDelay: .seconds(30), multiplier: 2, maximumDelay: .seconds(3_600), maximumAttempts: 8, jitter: 0.2)

    public init(
        initialDelay: Duration, multiplier: Double, maximumDelay: Duration, maximumAttempts: Int, jitter: Double
    ) {
        self.initialDelay = initialDelay
        self.multiplier = multiplier
        self.maximumDelay = maximumDelay
        self.maximumAttempts = maximumAttempts
        self.jitter = jitter
    }

    /// What is wrong with the policy, or nil when it is usable.
    public var problem: String? {
        if initialDelay < .zero { return "the initial delay is negative" }
        if multiplier < 1 { return "the multiplier is below 1" }
        if maximumDelay < initialDelay { return "the maximum delay is below the initial delay" }
        if maximumAttempts < 1 { return "the maximum attempts are below 1" }
        if !(0...1).contains(jitter) { return "the jitter is outside 0...1" }
        return nil
    }

    /// Whether a channel that has failed `failures` times may be tried again.
    public func allowsAttempt(afterFailures failures: Int) -> Bool {
        failures < maximumAttempts
    }

    /// The wait after the `failures`-th failure (1 for the first), given a uniform draw
    /// `random` in 0..<1.
    public func delay(afterFailures failures: Int, random: Double) -> Duration {
        let ceiling = Self.seconds(maximumDelay)
        var base = Self.seconds(initialDelay)
        var step = 1
        while step < failures && base < ceiling {
            base *= multiplier
            step += 1
        }
        base = min(base, ceiling)
        let jittered = base * (1 - jitter * min(max(random, 0), 1))
        return .microseconds(Int64((jittered * 1_000_000).rounded()))
    }

    private static func seconds(_ duration: Duration) -> Double {
        duration.inSeconds
    }
}
