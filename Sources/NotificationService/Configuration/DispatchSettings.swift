import Delivery
import ReminderCore

/// How the dispatcher claims and sends, and how failed channels are retried.
public struct DispatchSettings: Sendable {
    /// Whether this instance dispatches at all (ingest-only instances set it off).
    public var enabled: Bool
    public var dispatcher: Dispatcher.Configuration
    /// Per channel type (`email`, `sms`, `push`, `webhook`), the others use `defaultRetry`.
    public var retryPolicies: [String: RetryPolicy]
    public var defaultRetry: RetryPolicy
    public var breaker: CircuitBreaker.Configuration
    /// Webhooks have a breaker per destination origin; at most this many are kept
    /// (`CircuitBreakerTable` says which are given up, and that open ones never are).
    public var webhookBreakers: Int

    public static let channelTypes = ["email", "sms", "push", "webhook"]

    init(_ reader: EnvironmentReader) throws {
        enabled = try reader.flag("DISPATCH_ENABLED", true)
        dispatcher = DispatcherConfiguration(
            concurrency: try reader.count("DISPATCH_CONCURRENCY", DispatcherConfiguration().concurrency, 1...10_000),
            claimBatch: try reader.count("DISPATCH_CLAIM_BATCH", 100, 1...10_000),
            lease: try reader.milliseconds("DISPATCH_LEASE_MS", 300_000, 1_000...86_400_000),
            maximumIdle: try reader.milliseconds("DISPATCH_POLL_MS", 5_000, 10...600_000))
        defaultRetry = try Self.policy(reader, prefix: "RETRY", fallback: .default)
        var policies: [String: RetryPolicy] = [:]
        for channel in Self.channelTypes {
            let prefix = "\(channel.uppercased())_RETRY"
            let names = ["INITIAL_MS", "MAX_MS", "MULTIPLIER", "MAX_ATTEMPTS", "JITTER"].map { "\(prefix)_\($0)" }
            if names.contains(where: { reader.optional($0) != nil }) {
                policies[channel] = try Self.policy(reader, prefix: prefix, fallback: defaultRetry)
            }
        }
        retryPolicies = policies
        breaker = CircuitBreaker.Configuration(
            failureThreshold: try reader.count("BREAKER_FAILURE_THRESHOLD", 5, 1...10_000),
            openDuration: try reader.milliseconds("BREAKER_OPEN_MS", 30_000, 10...86_400_000),
            halfOpenProbes: try reader.count("BREAKER_HALF_OPEN_PROBES", 1, 1...1_000))
        webhookBreakers = try reader.count("WEBHOOK_BREAKERS_MAX", 1_000, 1...1_000_000)
    }

    private static func policy(_ reader: EnvironmentReader, prefix: String, fallback: RetryPolicy) throws
        -> RetryPolicy
    {
        func milliseconds(_ duration: Duration) -> Int {
            Int(duration.wholeMilliseconds)
        }
        let policy = RetryPolicy(
            initialDelay: try reader.milliseconds(
                "\(prefix)_INITIAL_MS", milliseconds(fallback.initialDelay), 0...86_400_000),
            multiplier: try reader.number("\(prefix)_MULTIPLIER", fallback.multiplier, 1...100),
            maximumDelay: try reader.milliseconds(
                "\(prefix)_MAX_MS", milliseconds(fallback.maximumDelay), 0...604_800_000),
            maximumAttempts: try reader.count("\(prefix)_MAX_ATTEMPTS", fallback.maximumAttempts, 1...1_000),
            jitter: try reader.number("\(prefix)_JITTER", fallback.jitter, 0...1))
        if let problem = policy.problem {
            throw ServiceSettings.Invalid(variable: "\(prefix)_MAX_MS", message: problem)
        }
        return policy
    }
}
