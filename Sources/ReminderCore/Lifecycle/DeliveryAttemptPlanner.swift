/// Decides, channel by channel, how one delivery attempt of a reminder goes on: the
/// channels are tried in the event's order; a permanent failure closes a channel and
/// moves to the next; an open circuit moves to the next without closing it; a transient
/// failure ends the attempt with a retry later, unless the channel has used up its
/// attempts, which closes it. When no channel is left the reminder is dead-lettered.
///
/// Pure: the caller sends, reports each result, and performs the returned step.
public struct DeliveryAttemptPlanner: Sendable {
    /// What the caller does next.
    public enum Step: Sendable, Equatable {
        /// Send over this channel.
        case send(channel: Int)
        /// The reminder is delivered.
        case delivered(channel: Int)
        /// Try the whole reminder again after `delay`.
        case retry(after: Duration)
        /// Give up on the reminder.
        case deadLetter(DeadLetterReason)
    }

    public private(set) var progress: ChannelProgress
    private let policies: [RetryPolicy]
    /// The earliest retry owed to a channel skipped for an open circuit.
    private var pendingRetry: Duration?

    /// `policies`: the retry policy of each channel, in channel order.
    public init(progress: ChannelProgress, policies: [RetryPolicy]) {
        precondition(policies.count == progress.statuses.count, "one retry policy per channel")
        self.progress = progress
        self.policies = policies
    }

    /// The first step of an attempt.
    public mutating func start() -> Step {
        next(from: 0)
    }

    /// Records the result of sending over `channel` (the channel of the last `.send`)
    /// and returns the next step. `random` is a uniform draw in 0..<1 for the jitter.
    public mutating func record(_ outcome: SendOutcome, on channel: Int, random: Double) -> Step {
        switch outcome {
        case .delivered:
            return .delivered(channel: channel)
        case .failed(let failure) where failure.kind == .permanent:
            progress.close(channel, as: .permanent)
            return next(from: channel + 1)
        case .failed(let failure):
            guard let delay = countFailure(of: channel, retryAfter: failure.retryAfter, random: random) else {
                return next(from: channel + 1)
            }
            return .retry(after: delay)
        case .circuitOpen(let retryAfter):
            // The provider was not asked, so no attempt is used up: the channel is tried
            // again when its policy would retry it, or when the circuit may let a probe
            // through, whichever is later.
            let policy = policies[channel]
            let delay = max(
                policy.delay(afterFailures: progress.failures[channel] + 1, random: random),
                min(retryAfter, policy.maximumDelay))
            pendingRetry = min(pendingRetry ?? delay, delay)
            return next(from: channel + 1)
        }
    }

    /// Counts a transient failure; the delay before retrying the channel, or nil when it
    /// has no attempts left (it is closed as exhausted).
    private mutating func countFailure(of channel: Int, retryAfter: Duration?, random: Double) -> Duration? {
        let failures = progress.recordFailure(of: channel)
        let policy = policies[channel]
        guard policy.allowsAttempt(afterFailures: failures) else {
            progress.close(channel, as: .exhausted)
            return nil
        }
        let backoff = policy.delay(afterFailures: failures, random: random)
        // A provider's Retry-After is honoured up to the policy's longest delay.
        return max(backoff, min(retryAfter ?? .zero, policy.maximumDelay))
    }

    private mutating func next(from index: Int) -> Step {
        if let channel = progress.firstOpenChannel(from: index) { return .send(channel: channel) }
        // Channels skipped for an open circuit are still open: try them again later.
        if let pendingRetry { return .retry(after: pendingRetry) }
        return .deadLetter(progress.statuses.allSatisfy { $0 == .permanent } ? .permanentFailure : .deliveryExhausted)
    }
}
