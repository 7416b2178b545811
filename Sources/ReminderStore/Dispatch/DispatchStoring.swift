import Foundation

/// The dispatcher's side of the store: takes due reminders, says when the next falls
/// due, and records how attempts ended, each as `ReminderCore`'s planners decided.
/// `DispatchStore` keeps them in PostgreSQL; `MemoryDispatchStore` (ReminderStoreTesting)
/// in memory, for tests of the logic above the store.
public protocol DispatchStoring: Sendable {
    /// Claims up to `limit` reminders due now, oldest first, and leases them for `lease`;
    /// each claim is recorded as a transition. With `takingOver`, also in-flight ones whose
    /// lease ran out (their sender stopped renewing it), after applying the cancels and
    /// replacements that wait on such reminders.
    func claim(limit: Int, lease: Duration, takingOver: Bool) async throws(StoreError) -> [DispatchStore.Claimed]

    /// Extends the leases of sends this instance holds to `lease` from now; returns the ids
    /// whose claim is no longer theirs. Runs a statement even for none: a heartbeat. A
    /// reminder that another statement holds locked may be left for the next renewal.
    func renew(_ leases: [DispatchStore.Lease], lease: Duration) async throws(StoreError) -> Set<Int64>

    /// When the next reminder falls due or the next lease runs out, or nil when there is
    /// neither.
    func nextDueTime() async throws(StoreError) -> Date?

    /// Records the completions; reports the ids that were not recorded because their
    /// claim is no longer theirs (the lease ran out and another sender took them), and
    /// those a pending cancel or replace decided.
    @discardableResult
    func complete(_ completions: [DispatchStore.Completion]) async throws(StoreError) -> DispatchStore.CompletionReport
}

extension DispatchStoring {
    /// A claim that also takes over leases that ran out, for callers that watch no leases
    /// of their own (tools and tests); the dispatcher says when it may take over.
    public func claim(limit: Int, lease: Duration) async throws(StoreError) -> [DispatchStore.Claimed] {
        try await claim(limit: limit, lease: lease, takingOver: true)
    }
}
