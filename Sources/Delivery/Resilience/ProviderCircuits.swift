import ReminderCore

/// The circuits of one provider: one breaker for the provider (an email relay, a push
/// service, an SMS account: one receiver for every reminder), or one per destination
/// origin (webhooks: each customer's endpoint is a receiver of its own, and one broken
/// endpoint must not delay the others' reminders). Pure; `GuardedProvider` keeps it
/// behind a lock.
public struct ProviderCircuits: Sendable {
    /// Which sends share a circuit.
    public enum Scope: Sendable, Equatable {
        /// Every send of the provider.
        case provider
        /// Sends to the same webhook origin (`DestinationOrigin`), at most `maximum`
        /// breakers kept (`CircuitBreakerTable`).
        case destinationOrigin(maximum: Int)
    }

    /// Which circuit admitted a send: what `record` is given back.
    public enum Ticket: Sendable, Equatable {
        case provider
        case origin(DestinationOrigin)
        /// No circuit watches the send (an unreadable URL, or a full table).
        case none
    }

    /// The circuits at a glance, for metrics: no origin in it.
    public struct Summary: Sendable, Equatable {
        /// The provider's one circuit as an observer sees it; nil for per-origin circuits.
        public var state: CircuitBreaker.State?
        /// Circuits refusing sends now.
        public var open: Int
        /// Breakers held.
        public var tracked: Int
        /// Sends let through without a breaker because the table was full of open circuits.
        public var untrackedSends: Int
        /// Breakers given up to make room.
        public var evictions: Int
    }

    /// Exactly one of the two is set, as the scope says. (Two optionals rather than an
    /// enum with payloads: taking a table out of an enum case to change it copies its
    /// dictionary on every send.)
    private var breaker: CircuitBreaker?
    private var table: CircuitBreakerTable<DestinationOrigin>?
    /// Each webhook address's origin, read once rather than per send.
    private var origins = AddressMemo<DestinationOrigin?>(capacity: 4_096)

    public init(scope: Scope, configuration: CircuitBreaker.Configuration) {
        switch scope {
        case .provider: breaker = CircuitBreaker(configuration: configuration)
        case .destinationOrigin(let maximum):
            table = CircuitBreakerTable(configuration: configuration, capacity: maximum)
        }
    }

    /// Asks to send `request` at `now`: the ticket to `record` its outcome with, or the
    /// refusal of its open circuit.
    public mutating func admit(
        _ request: DeliveryRequest, at now: ContinuousClock.Instant
    ) -> Result<Ticket, CircuitRefusal> {
        if breaker != nil {
            switch breaker?.admit(at: now) {
            case .allowed, nil: return .success(.provider)
            case .rejected(let retryAfter): return .failure(CircuitRefusal(retryAfter: retryAfter))
            }
        }
        guard case .webhook(let url) = request.channel,
            let origin = origins.value(for: url, making: DestinationOrigin.init(url:))
        else {
            return .success(.none)
        }
        switch table?.admit(origin, at: now) {
        case .allowed: return .success(.origin(origin))
        case .untracked, nil: return .success(.none)
        case .rejected(let retryAfter): return .failure(CircuitRefusal(retryAfter: retryAfter))
        }
    }

    /// Records how a send admitted with `ticket` went, at `now`; true when this opened its
    /// circuit.
    @discardableResult
    public mutating func record(
        _ outcome: CircuitBreaker.Outcome, _ ticket: Ticket, at now: ContinuousClock.Instant
    ) -> Bool {
        switch ticket {
        case .provider: breaker?.recordOpening(outcome, at: now) ?? false
        case .origin(let origin): table?.record(outcome, for: origin, at: now) ?? false
        case .none: false
        }
    }

    /// The state of the circuit `request` would go through, nil when none watches it.
    public func state(for request: DeliveryRequest) -> CircuitBreaker.State? {
        if let breaker { return breaker.state }
        guard case .webhook(let url) = request.channel,
            let origin = origins.value(for: url) ?? DestinationOrigin(url: url)
        else { return nil }
        return table?.state(of: origin)
    }

    public func summary(at now: ContinuousClock.Instant) -> Summary {
        if let breaker {
            let observed = breaker.observedState(at: now)
            let open = if case .open = observed { 1 } else { 0 }
            return Summary(state: observed, open: open, tracked: 1, untrackedSends: 0, evictions: 0)
        }
        return Summary(
            state: nil, open: table?.openCount(at: now) ?? 0, tracked: table?.count ?? 0,
            untrackedSends: table?.untrackedAdmissions ?? 0, evictions: table?.evictions ?? 0)
    }
}

/// A send refused by an open circuit; its circuit may admit a probe after `retryAfter`.
public struct CircuitRefusal: Error, Sendable, Equatable {
    public let retryAfter: Duration

    public init(retryAfter: Duration) {
        self.retryAfter = retryAfter
    }
}
