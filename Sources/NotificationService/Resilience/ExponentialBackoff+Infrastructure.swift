import ReminderCore

extension ExponentialBackoff {
    /// How the service waits between its own attempts to reach the database or the broker
    /// (ingest, the dead-letter relay, claims and outcome records): 100 ms doubling up to
    /// 5 s, with a fifth of random jitter so that instances that failed together spread out.
    public static let infrastructure = ExponentialBackoff(
        initialDelay: .milliseconds(100), multiplier: 2, maximumDelay: .seconds(5), jitter: 0.2)
}
