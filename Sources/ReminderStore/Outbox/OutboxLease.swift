/// Whether this instance's relay holds its outbox's lease (`OutboxLeaseStore`), judged by
/// the relay's own clock: one relay publishes an outbox at a time, so that no record is
/// published by two relays (and no reminder's status record goes out after a later one of
/// its own).
///
/// The database grants the lease for `duration` from the moment it answers an ask; the
/// relay counts from the moment it sent the ask, which is earlier, so it never believes
/// in a lease the database has already let go. Before each read the relay asks again once
/// less than `guardTime` is left: the longest one read and one publish can take. A
/// publish that could end after the lease (the relay was stalled between its read and
/// its publish) does not start. Every message a holder sends has therefore been delivered
/// or given up by the producer before another relay can take the lease and publish.
public struct OutboxLease<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// How long each granted ask holds the lease: `renewEvery` + `guardTime`.
    public let duration: Duration
    /// What must be left of the lease when a read starts: one read and one publish.
    public let guardTime: Duration
    /// When the last granted ask was sent; nil when not held.
    public private(set) var askedAt: Instant?

    /// `renewEvery`: how often a holder asks again while it relays; `guardTime`: the
    /// longest one read and one publish can take (their timeouts).
    public init(renewEvery: Duration, guardTime: Duration) {
        precondition(renewEvery > .zero && guardTime >= .zero, "a lease needs time to renew in")
        self.duration = renewEvery + guardTime
        self.guardTime = guardTime
    }

    public var isHeld: Bool { askedAt != nil }

    /// Whether the relay must ask before it reads at `now`: it does not hold the lease, or
    /// less than `guardTime` of it is left.
    public func mustAsk(at now: Instant) -> Bool {
        guard let askedAt else { return true }
        return now >= askedAt.advanced(by: duration - guardTime)
    }

    /// Whether a publish that starts at `now` and takes up to `bound` ends within the lease.
    public func mayPublish(at now: Instant, taking bound: Duration) -> Bool {
        guard let askedAt else { return false }
        return now.advanced(by: bound) < askedAt.advanced(by: duration)
    }

    /// The database's answer to an ask sent at `askedAt`: granted (taken or renewed) or
    /// refused (another relay holds it). An ask that failed or was given up counts as
    /// refused: the relay asks again before its next read.
    public mutating func answered(granted: Bool, askedAt: Instant) {
        self.askedAt = granted ? askedAt : nil
    }

    /// The relay gave the lease up.
    public mutating func released() {
        askedAt = nil
    }
}
