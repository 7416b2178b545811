import Foundation

/// The dispatcher's side of the store: takes due reminders, says when the next falls
/// due, and records how attempts ended, each as `ReminderCore`'s planners decided.
/// `DispatchStore` keeps them in PostgreSQL; `MemoryDispatchStore` (ReminderStoreTesting)
/// in memory, for tests of the logic above the store.
public protocol DispatchStoring: Sendable {
    /// Claims up to `limit` reminders due now (and in-flight ones whose lease ran out),
    /// oldest first, and leases them for `lease`; each claim is recorded as a transition.
    func claim(limit: Int, lease: Duration) async throws(StoreError) -> [DispatchStore.Claimed]

    /// When the next reminder falls due or the next lease runs out, or nil when there is
    /// neither.
    func nextDueTime() async throws(StoreError) -> Date?

    /// Records the completions; returns the ids that were not recorded because their
    /// claim is no longer theirs (the lease ran out and another sender took them).
    @discardableResult
    func complete(_ completions: [DispatchStore.Completion]) async throws(StoreError) -> Set<Int64>
}
