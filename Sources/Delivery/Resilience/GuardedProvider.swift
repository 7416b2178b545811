import ReminderCore
import Synchronization

/// A provider behind its circuit breaker and rate limit: what the dispatcher calls.
/// Sends beyond the rate wait for their token (they are never dropped); sends while the
/// circuit is open fail fast without reaching the provider.
public final class GuardedProvider: Sendable {
    public let provider: any NotificationProvider
    private let breaker: Mutex<CircuitBreaker>
    /// nil inside: no rate limit.
    private let bucket: Mutex<TokenBucket?>
    /// The instants the circuit and the rate limit are kept in.
    private let now: @Sendable () -> ContinuousClock.Instant

    /// `rateLimit`: nil for no limit. `now` reads the continuous clock; tests move it on
    /// to see an open circuit's time run out without waiting for it.
    public init(
        provider: any NotificationProvider, breaker: CircuitBreaker.Configuration,
        rateLimit: TokenBucket.Configuration?,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    ) {
        self.provider = provider
        self.breaker = Mutex(CircuitBreaker(configuration: breaker))
        self.now = now
        let start = now()
        self.bucket = Mutex(rateLimit.map { TokenBucket(configuration: $0, now: start) })
    }

    public var name: String { provider.name }

    /// The circuit's state now (for tests).
    public var circuitState: CircuitBreaker.State { breaker.withLock { $0.state } }

    /// The circuit's state as metrics show it (`CircuitBreaker.observedState`).
    public var observedCircuitState: CircuitBreaker.State { breaker.withLock { $0.observedState(at: now()) } }

    /// Sends `request` unless the circuit is open, after waiting for the rate limit.
    /// Returns the time spent in the provider beside how the send ended.
    public func send(_ request: DeliveryRequest) async -> (result: SendOutcome, latency: Duration) {
        // The circuit first: a send it refuses takes no token.
        if case .rejected(let retryAfter) = breaker.withLock({ $0.admit(at: now()) }) {
            return (.circuitOpen(retryAfter: retryAfter), .zero)
        }
        let wait = bucket.withLock { bucket -> Duration in
            guard var limit = bucket else { return .zero }
            defer { bucket = limit }
            return limit.take(at: now())
        }
        if wait > .zero { try? await Task.sleep(for: wait) }
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
        breaker.withLock { $0.record(outcome, at: end) }
        return (result, end - start)
    }
}
