/// Decides how one send over one channel goes through the channel's providers, in the
/// operator's order (`EMAIL_PROVIDERS`, `SMS_PROVIDERS`): the first provider is asked;
/// one that cannot take the send now (its circuit is open, it failed transiently, it is
/// not configured or refused the request itself) hands the same send to the next. A
/// delivery ends it, and so does a failure that is the recipient's (`concernsRecipient`):
/// the next provider would be refused too, and the channel is closed as before. When
/// every provider has been asked, what the channel's send came to is one `SendOutcome`
/// for `DeliveryAttemptPlanner`: a transient failure if any provider failed transiently
/// (the channel is retried later, from its first provider), else an open circuit if any
/// was open, else a permanent failure.
///
/// A cancelled send (shutdown) ends it at once: it says nothing about the provider.
///
/// Pure: the caller sends, reports each result, and performs the returned step.
public struct ProviderFailover: Sendable {
    public enum Step: Sendable, Equatable {
        /// Send through the provider at this position of the channel's list.
        case send(provider: Int)
        /// The channel's send came to this.
        case finished(SendOutcome)
    }

    private let providers: Int
    private var outcomes: [SendOutcome] = []

    /// `providers`: how many providers the channel has, in order.
    public init(providers: Int) {
        self.providers = providers
    }

    /// The first step: the first provider, or `.notConfigured` for a channel without one.
    public mutating func start() -> Step {
        providers == 0 ? .finished(.notConfigured) : .send(provider: 0)
    }

    /// Records how the send through the provider of the last `.send` ended, and returns
    /// the next step.
    public mutating func record(_ outcome: SendOutcome) -> Step {
        precondition(outcomes.count < providers, "a result for a send that was not asked for")
        outcomes.append(outcome)
        if !Self.handsOver(outcome) { return .finished(outcome) }
        if outcomes.count < providers { return .send(provider: outcomes.count) }
        return .finished(Self.combined(outcomes))
    }

    /// Whether the next provider of the channel is asked after `outcome`.
    public static func handsOver(_ outcome: SendOutcome) -> Bool {
        switch outcome {
        case .delivered: false
        case .circuitOpen: true
        case .failed(let failure): !failure.concernsRecipient && !failure.isCancellation
        }
    }

    /// What a channel's send came to when every provider handed it over.
    static func combined(_ outcomes: [SendOutcome]) -> SendOutcome {
        let transient = outcomes.compactMap { $0.failure }.filter { $0.kind == .transient }
        if var first = transient.first {
            // The channel may be retried as soon as one of the providers that failed may be
            // asked again: the soonest `Retry-After`, or none when one provider gave none
            // (it may be asked after the policy's backoff, which `DeliveryAttemptPlanner`
            // waits at least).
            let waits = transient.map(\.retryAfter)
            first.retryAfter = waits.contains(nil) ? nil : waits.compactMap { $0 }.min()
            return .failed(first)
        }
        let openFor = outcomes.compactMap { outcome -> Duration? in
            if case .circuitOpen(let retryAfter) = outcome { return retryAfter }
            return nil
        }
        if let soonest = openFor.min() { return .circuitOpen(retryAfter: soonest) }
        // Every provider refused the request itself (or none is configured).
        return outcomes.first { $0.failure != nil } ?? .notConfigured
    }
}
