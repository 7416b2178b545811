/// One circuit breaker per key (a webhook's destination origin), at most `capacity` of
/// them, so that one receiver's failures open its own circuit and no one else's, and a
/// stream of distinct URLs cannot grow memory without bound. Pure, like
/// `CircuitBreaker`: the caller passes the instants.
///
/// When a new key comes to a full table, a breaker is given up to make room, in this
/// order:
/// 1. the least recently used **closed** breaker (its count of failures in a row is lost:
///    at worst its receiver gets `failureThreshold` more sends before it opens again);
/// 2. else the least recently used breaker whose open time is up with no probe in flight
///    (its receiver has not been tried since; the configuration lets its next send
///    through anyway, as a probe; forgotten, it gets up to `failureThreshold` sends
///    instead of one before it opens again).
/// A breaker that is open and refusing, or has a probe in flight, is never given up:
/// forgetting it would let sends through to a receiver known to be failing sooner than
/// `openDuration` allows. When every breaker is such, the new key's send goes through
/// without a breaker (`untracked`) and is counted: the other receivers' circuits would
/// otherwise delay a receiver that has done nothing wrong. Those sends still follow the
/// retry policy. Finding the breaker to give up scans the table (a few microseconds for
/// a thousand), only when a new key meets a full table.
public struct CircuitBreakerTable<Key: Hashable & Sendable>: Sendable {
    /// What the caller may do with a send to a key.
    public enum Admission: Sendable, Equatable {
        case allowed
        /// Fail fast; the key's circuit may admit a probe after `retryAfter`.
        case rejected(retryAfter: Duration)
        /// Allowed, but no breaker watches it: the table is full of open circuits.
        case untracked
    }

    private struct Entry: Sendable {
        var breaker: CircuitBreaker
        /// The table's use counter when the key was last admitted (larger is more recent).
        var lastUsed: UInt64
    }

    public let configuration: CircuitBreaker.Configuration
    public let capacity: Int
    private var entries: [Key: Entry] = [:]
    private var uses: UInt64 = 0
    /// Sends admitted without a breaker since the table was made (a counter for metrics).
    public private(set) var untrackedAdmissions = 0
    /// Breakers given up to make room since the table was made (a counter for metrics).
    public private(set) var evictions = 0

    /// `capacity`: at least 1.
    public init(configuration: CircuitBreaker.Configuration, capacity: Int) {
        precondition(capacity >= 1, "a circuit breaker table holds at least one breaker")
        self.configuration = configuration
        self.capacity = capacity
    }

    /// Breakers held.
    public var count: Int { entries.count }

    /// Asks to send to `key` at `now`; an `allowed` send must be followed by `record`.
    public mutating func admit(_ key: Key, at now: ContinuousClock.Instant) -> Admission {
        uses += 1
        var breaker: CircuitBreaker
        if let entry = entries[key] {
            breaker = entry.breaker
        } else {
            if entries.count >= capacity {
                guard let victim = victim(at: now) else {
                    untrackedAdmissions += 1
                    return .untracked
                }
                entries[victim] = nil
                evictions += 1
            }
            breaker = CircuitBreaker(configuration: configuration)
        }
        let admission = breaker.admit(at: now)
        entries[key] = Entry(breaker: breaker, lastUsed: uses)
        switch admission {
        case .allowed: return .allowed
        case .rejected(let retryAfter): return .rejected(retryAfter: retryAfter)
        }
    }

    /// Records how a send admitted for `key` went, at `now`; true when this opened its
    /// circuit. A key given up meanwhile (or never held: an `untracked` send) is not taken
    /// back in.
    @discardableResult
    public mutating func record(
        _ outcome: CircuitBreaker.Outcome, for key: Key, at now: ContinuousClock.Instant
    ) -> Bool {
        entries[key]?.breaker.recordOpening(outcome, at: now) ?? false
    }

    /// The state of `key`'s circuit, nil when the table holds none for it.
    public func state(of key: Key) -> CircuitBreaker.State? {
        entries[key]?.breaker.state
    }

    /// Circuits that refuse sends at `now` (`CircuitBreaker.observedState` reads open).
    public func openCount(at now: ContinuousClock.Instant) -> Int {
        entries.values.reduce(0) { count, entry in
            if case .open = entry.breaker.observedState(at: now) { return count + 1 }
            return count
        }
    }

    /// The breaker to give up for a new key, as the type's documentation orders them.
    private func victim(at now: ContinuousClock.Instant) -> Key? {
        var closed: (key: Key, lastUsed: UInt64)?
        var lapsed: (key: Key, lastUsed: UInt64)?
        for (key, entry) in entries {
            switch entry.breaker.observedState(at: now) {
            case .closed:
                if entry.lastUsed < closed?.lastUsed ?? .max { closed = (key, entry.lastUsed) }
            case .halfOpen(probesInFlight: 0):
                if entry.lastUsed < lapsed?.lastUsed ?? .max { lapsed = (key, entry.lastUsed) }
            case .halfOpen, .open:
                break
            }
        }
        return closed?.key ?? lapsed?.key
    }
}
