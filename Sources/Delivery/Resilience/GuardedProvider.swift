import Logging
import ReminderCore
import Synchronization

/// A provider behind its circuit breakers and rate limit: what the dispatcher calls.
/// Sends beyond the rate wait for their token (they are never dropped); sends while
/// their circuit is open fail fast without reaching the provider. One circuit serves the
/// whole provider, or one each webhook origin (`ProviderCircuits.Scope`).
public final class GuardedProvider: Sendable {
    public let provider: any NotificationProvider
    private let circuits: Mutex<ProviderCircuits>
    /// nil: no rate limit.
    private let limiter: (any RateLimiting)?
    /// The instants the circuit and the rate limit are kept in.
    private let now: @Sendable () -> ContinuousClock.Instant
    /// Says when a circuit opens (naming a webhook's origin, never its URL).
    private let logger: Logger?

    /// `circuits`: which sends share a breaker. `limiter`: nil for no limit. `now` reads
    /// the continuous clock; tests move it on to see an open circuit's time run out
    /// without waiting for it. `logger`: where a circuit's opening is told, nil for nowhere.
    public init(
        provider: any NotificationProvider, breaker: CircuitBreaker.Configuration,
        circuits scope: ProviderCircuits.Scope = .provider, limiter: (any RateLimiting)?,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }, logger: Logger? = nil
    ) {
        self.logger = logger
        self.provider = provider
        self.circuits = Mutex(ProviderCircuits(scope: scope, configuration: breaker))
        self.now = now
        self.limiter = limiter
    }

    /// A provider with a rate limit of this process alone (`LocalRateLimit`), nil for none.
    public convenience init(
        provider: any NotificationProvider, breaker: CircuitBreaker.Configuration,
        circuits scope: ProviderCircuits.Scope = .provider, rateLimit: TokenBucket.Configuration?,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }, logger: Logger? = nil
    ) {
        self.init(
            provider: provider, breaker: breaker, circuits: scope,
            limiter: rateLimit.map { LocalRateLimit($0, now: now) }, now: now, logger: logger)
    }

    public var name: String { provider.name }

    /// The state of the circuit `request` would go through now, nil when none watches it
    /// (for tests).
    public func circuitState(for request: DeliveryRequest) -> CircuitBreaker.State? {
        circuits.withLock { $0.state(for: request) }
    }

    /// The circuits as metrics show them (`CircuitBreaker.observedState`), without origins.
    public var circuitSummary: ProviderCircuits.Summary { circuits.withLock { $0.summary(at: now()) } }

    /// Sends `request` unless the circuit is open, after waiting for the rate limit.
    /// Returns the time spent in the provider beside how the send ended.
    public func send(_ request: DeliveryRequest) async -> (result: SendOutcome, latency: Duration) {
        // The circuit first: a send it refuses takes no token.
        let ticket: ProviderCircuits.Ticket
        switch circuits.withLock({ $0.admit(request, at: now()) }) {
        case .success(let admitted): ticket = admitted
        case .failure(let refusal): return (.circuitOpen(retryAfter: refusal.retryAfter), .zero)
        }
        if let limiter {
            await limiter.acquire()
            // Cancelled while waiting for its turn (a hard stop): not sent, so the limit
            // holds; the circuit is given its admission back.
            if Task.isCancelled {
                circuits.withLock { $0.record(.inconclusive, ticket, at: now()) }
                return (.failed(.cancelled), .zero)
            }
        }
        let start = now()
        let result: SendOutcome
        let outcome: CircuitBreaker.Outcome
        do {
            result = .delivered(try await provider.send(request))
            outcome = .success
        } catch {
            result = .failed(error)
            switch error.kind {
            // A permanent failure is about the request (a bad address); the provider answered.
            case .permanent: outcome = .success
            case .transient: outcome = error.isCancellation || error.isRateLimited ? .inconclusive : .failure
            }
        }
        let end = now()
        if circuits.withLock({ $0.record(outcome, ticket, at: end) }) {
            var metadata: Logger.Metadata = ["provider": "\(provider.name)"]
            // An origin holds no path or query (where a webhook URL may carry a secret).
            if case .origin(let origin) = ticket { metadata["origin"] = "\(origin)" }
            logger?.warning("circuit opened", metadata: metadata)
        }
        return (result, end - start)
    }
}
