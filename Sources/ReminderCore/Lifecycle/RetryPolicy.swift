/// When to try a channel again after a transient failure: an `ExponentialBackoff` and a
/// maximum number of attempts. Pure: the random draw is passed in.
public struct RetryPolicy: Sendable, Equatable {
    /// The waits between attempts.
    public var backoff: ExponentialBackoff
    /// Attempts on a channel, the first included; after that many transient failures the
    /// channel counts as exhausted.
    public var maximumAttempts: Int

    public static let `default` = RetryPolicy(
        initialDelay: .seconds(30), multiplier: 2, maximumDelay: .seconds(3_600), maximumAttempts: 8, jitter: 0.2)

    public init(
        initialDelay: Duration, multiplier: Double, maximumDelay: Duration, maximumAttempts: Int, jitter: Double
    ) {
        self.backoff = ExponentialBackoff(
            initialDelay: initialDelay, multiplier: multiplier, maximumDelay: maximumDelay, jitter: jitter)
        self.maximumAttempts = maximumAttempts
    }

    /// The delay after the first failure, before jitter (the backoff's, named as the
    /// settings name it).
    public var initialDelay: Duration {
        get { backoff.initialDelay }
        set { backoff.initialDelay = newValue }
    }

    /// Each further failure multiplies the delay by this.
    public var multiplier: Double {
        get { backoff.multiplier }
        set { backoff.multiplier = newValue }
    }

    /// No delay exceeds this (before jitter).
    public var maximumDelay: Duration {
        get { backoff.maximumDelay }
        set { backoff.maximumDelay = newValue }
    }

    /// The random share of each delay, in 0...1 (`ExponentialBackoff.jitter`).
    public var jitter: Double {
        get { backoff.jitter }
        set { backoff.jitter = newValue }
    }

    /// What is wrong with the policy, or nil when it is usable.
    public var problem: String? {
        if let problem = backoff.problem { return problem }
        if maximumAttempts < 1 { return "the maximum attempts are below 1" }
        return nil
    }

    /// Whether a channel that has failed `failures` times may be tried again.
    public func allowsAttempt(afterFailures failures: Int) -> Bool {
        failures < maximumAttempts
    }

    /// The wait after the `failures`-th failure (1 for the first), given a uniform draw
    /// `random` in 0..<1.
    public func delay(afterFailures failures: Int, random: Double) -> Duration {
        backoff.delay(afterFailures: failures, random: random)
    }
}
