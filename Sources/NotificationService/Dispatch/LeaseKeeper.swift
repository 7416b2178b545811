import Foundation
import Logging
import ReminderStore
import Synchronization

/// Keeps the leases of one dispatcher's sends alive and says when it may take over
/// another sender's.
///
/// Every reminder this instance has claimed and not yet recorded (in flight, or its
/// outcome waiting for the database) has its lease renewed every quarter lease, so a
/// lease runs out only when its sender stopped renewing it: it died, or it cannot reach
/// the database. The renewal runs when nothing is held too, as a heartbeat.
///
/// Taking over is allowed only after this instance has reached the database without a
/// failure for a whole lease. After an outage every lease looks expired to the database,
/// and every sender looks dead; an instance that has just come back waits a lease before
/// taking any over, and so gives the senders that are alive the time to renew theirs and
/// record the outcomes they kept.
final class LeaseKeeper<C: Clock>: Sendable where C.Duration == Duration {
    private struct State {
        /// Claims held: reminder id → the lease (attempt and occurrence).
        var held: [Int64: DispatchStore.Lease] = [:]
        /// Held claims whose outcome is on its way to the database: still renewed (the
        /// write may take a while), but one the renewal no longer finds was most likely
        /// just recorded, and the recorder says so if it was not.
        var recording: Set<Int64> = []
        /// Since when every call reached the database, on the wall clock that leases are
        /// read against; nil after a failure.
        var reachedSince: Date?
    }

    let lease: Duration
    /// What the renewals wait on.
    private let clock: C
    /// The wall clock leases run out on.
    private let now: @Sendable () -> Date
    private let logger: Logger
    private let state = Mutex(State())

    init(lease: Duration, clock: C, now: @escaping @Sendable () -> Date, logger: Logger) {
        self.lease = lease
        self.clock = clock
        self.now = now
        self.logger = logger
    }

    /// How often leases are renewed.
    var interval: Duration { max(lease / 4, .milliseconds(10)) }

    func hold(_ claims: [DispatchStore.Claimed]) {
        state.withLock { state in
            for claim in claims {
                state.held[claim.id] = DispatchStore.Lease(
                    id: claim.id, attempt: claim.attempt, occurrence: claim.occurrence)
            }
        }
    }

    /// The reminder's outcome goes to the recorder: from now on it may be recorded at any
    /// moment, before `release` follows.
    func recording(_ id: Int64) {
        _ = state.withLock { $0.recording.insert(id) }
    }

    /// The reminder's outcome is recorded (or given up): its lease is no longer renewed.
    func release(_ id: Int64) {
        state.withLock { state in
            state.held.removeValue(forKey: id)
            state.recording.remove(id)
        }
    }

    /// The claims held now.
    var held: [DispatchStore.Lease] {
        state.withLock { Array($0.held.values) }
    }

    /// Tells whether a call reached the database.
    func observe(reached: Bool) {
        let now = self.now()
        state.withLock { state in
            if !reached {
                state.reachedSince = nil
            } else if state.reachedSince == nil {
                state.reachedSince = now
            }
        }
    }

    /// Whether this instance may take over leases that ran out: it has reached the
    /// database without a failure for at least a lease.
    var mayTakeOver: Bool {
        let now = self.now()
        return state.withLock { state in
            state.reachedSince.map { now.timeIntervalSince($0) >= lease.inSeconds } ?? false
        }
    }

    /// Renews the held leases every `interval` until cancelled.
    func run(store: any DispatchStoring) async {
        let lease = self.lease
        while !Task.isCancelled {
            try? await clock.sleep(for: interval)
            guard !Task.isCancelled else { return }
            let leases = state.withLock { $0.held }
            do {
                let notRenewed = try await StoreDeadline.run(interval, on: clock, operation: "renew leases") {
                    try await store.renew(Array(leases.values), lease: lease)
                }
                observe(reached: true)
                // A claim whose outcome was recorded while the statement ran is no longer
                // its sender's to renew, yet not lost: it was released meanwhile, or is
                // being recorded (a lease lost then is the recorder's to report).
                let lost = state.withLock { state in
                    notRenewed.filter { id in state.held[id] == leases[id] && !state.recording.contains(id) }
                }
                if !lost.isEmpty {
                    logger.warning(
                        "leases lost: another sender took the reminders over, or they were cancelled",
                        metadata: ["count": "\(lost.count)"])
                }
            } catch {
                observe(reached: false)
                logger.warning(
                    "renewing leases failed", metadata: ["count": "\(leases.count)", "error": "\(error)"])
            }
        }
    }
}
