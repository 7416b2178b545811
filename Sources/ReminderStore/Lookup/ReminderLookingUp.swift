/// The reads operators make (`GET /v1/reminders/{id}`, `/health/ready`, the reminders
/// gauge of `/metrics`): one reminder with its history, how many reminders wait in each
/// state, and whether the store answers at all. `ReminderLookup` reads PostgreSQL;
/// `MemoryReminderLookup` (ReminderStoreTesting) a `MemoryDispatchStore`'s reminders, for
/// tests of the API without a database.
public protocol ReminderLookingUp: Sendable {
    /// The reminder with this (publisher's) id; nil when there is none.
    func find(reminderID: String) async throws(StoreError) -> ReminderReport?

    /// How many reminders wait in each of `ReminderLookup.waitingStates`; states with none
    /// are left out.
    func countWaitingByState() async throws(StoreError) -> [String: Int]

    /// Returns when the store answers; throws a `.connection` error when it does not.
    func ping() async throws(StoreError)
}

extension ReminderLookup: ReminderLookingUp {}
