/// The circuit of one provider, as a value-type state machine (closed → open →
/// half-open → closed), generic over nothing but the instants it is given, so that it is
/// tested without a clock.
///
/// Closed: sends go through; `failureThreshold` transient failures in a row open it.
/// Open: sends fail fast until `openDuration` has passed. Half-open: up to
/// `halfOpenProbes` sends go through as probes; one success closes the circuit, one
/// failure opens it again. Permanent failures say nothing about the provider's health
/// (a bad address) and count as successes here.
public struct CircuitBreaker: Sendable, Equatable {
    public struct Configuration: Sendable, Equatable {
        public var failureThreshold: Int
        public var openDuration: Duration
        public var halfOpenProbes: Int

        public static let `default` = Configuration(failureThreshold: 5, openDuration: .seconds(30), halfOpenProbes: 1)

        public init(failureThreshold: Int, openDuration: Duration, halfOpenProbes: Int) {
            self.failureThreshold = failureThreshold
            self.openDuration = openDuration
            self.halfOpenProbes = halfOpenProbes
        }
    }

    public enum State: Sendable, Equatable {
        case closed(consecutiveFailures: Int)
        case open(until: ContinuousClock.Instant)
        case halfOpen(probesInFlight: Int)

        /// For metrics and logs: `closed`, `open`, `half_open`.
        public var name: String {
            switch self {
            case .closed: "closed"
            case .open: "open"
            case .halfOpen: "half_open"
            }
        }
    }

    /// What the caller may do with a send.
    public enum Admission: Sendable, Equatable {
        case allowed
        /// Fail fast; the circuit may admit a probe after `retryAfter`.
        case rejected(retryAfter: Duration)
    }

    /// Whether a send outcome tells something about the provider.
    public enum Outcome: Sendable, Equatable {
        case success
        case failure
        /// Tells nothing (the send was cancelled): a probe's slot is given back.
        case inconclusive
    }

    public let configuration: Configuration
    public private(set) var state: State = .closed(consecutiveFailures: 0)

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// The state as an observer (metrics) should see it at `now`: an open circuit whose
    /// time is up lets the next send through as a probe, so it reads half-open, though
    /// the state itself changes only at that send (a quiet provider would otherwise read
    /// open until its next reminder).
    public func observedState(at now: ContinuousClock.Instant) -> State {
        if case .open(let until) = state, now >= until { return .halfOpen(probesInFlight: 0) }
        return state
    }

    /// Asks to send at `now`; an admitted send must be followed by `record`.
    public mutating func admit(at now: ContinuousClock.Instant) -> Admission {
        switch state {
        case .closed:
            return .allowed
        case .open(let until):
            guard now >= until else { return .rejected(retryAfter: until - now) }
            state = .halfOpen(probesInFlight: 1)
            return .allowed
        case .halfOpen(let probes):
            guard probes < configuration.halfOpenProbes else {
                return .rejected(retryAfter: configuration.openDuration)
            }
            state = .halfOpen(probesInFlight: probes + 1)
            return .allowed
        }
    }

    /// Records how an admitted send went, at `now`.
    public mutating func record(_ outcome: Outcome, at now: ContinuousClock.Instant) {
        switch (state, outcome) {
        case (.closed, .success):
            state = .closed(consecutiveFailures: 0)
        case (.closed(let failures), .failure):
            state =
                failures + 1 >= configuration.failureThreshold
                ? .open(until: now + configuration.openDuration) : .closed(consecutiveFailures: failures + 1)
        case (.halfOpen, .success):
            state = .closed(consecutiveFailures: 0)
        case (.halfOpen, .failure):
            state = .open(until: now + configuration.openDuration)
        case (.closed, .inconclusive):
            break
        case (.halfOpen(let probes), .inconclusive):
            state = .halfOpen(probesInFlight: max(0, probes - 1))
        case (.open, _):
            // A send admitted before the circuit opened: the circuit already knows.
            break
        }
    }
}

extension CircuitBreaker {
    /// `record`, telling whether it opened the circuit (for a log line at that moment).
    public mutating func recordOpening(_ outcome: Outcome, at now: ContinuousClock.Instant) -> Bool {
        let wasOpen = if case .open = state { true } else { false }
        record(outcome, at: now)
        if case .open = state { return !wasOpen }
        return false
    }
}
