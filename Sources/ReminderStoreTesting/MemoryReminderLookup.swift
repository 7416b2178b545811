import Foundation
import ReminderCore
import ReminderStore
import Synchronization

/// The operators' reads over a `MemoryDispatchStore`'s reminders, for tests of the API,
/// readiness and metrics without a database: a test ingests (a `MemoryIngestStore` writes
/// into the same store), dispatches, and looks the reminder up as `GET /v1/reminders/{id}`
/// does. It answers as `ReminderLookup` does from what the memory store keeps, and can be
/// told to fail like an unreachable database.
///
/// What `MemoryDispatchStore` does not keep, and so no report shows: the time zone (empty),
/// the correlation and trace ids (nil), every time stamp (`createdAt`, `updatedAt` and each
/// transition's and channel attempt's `at` are empty), the attempt each transition and
/// channel attempt belongs to (0), a transition's error class and a channel attempt's
/// retry delay (nil).
public final class MemoryReminderLookup: ReminderLookingUp {
    /// Where the reminders are read.
    public let reminders: MemoryDispatchStore
    /// Calls left to fail.
    private let failures = Mutex(ToldFailures())

    public init(reminders: MemoryDispatchStore) {
        self.reminders = reminders
    }

    /// The next `count` calls fail as a database that cannot be reached does.
    public func failNext(_ count: Int) {
        failures.withLock { $0.remaining = count }
    }

    public func find(reminderID: String) async throws(StoreError) -> ReminderReport? {
        try failIfTold("look up a reminder")
        // `reminder_id` is unique, as ingest keeps it in memory too.
        guard let reminder = reminders.reminders.first(where: { $0.reminderID == reminderID }) else { return nil }
        return ReminderReport(
            reminderID: reminder.reminderID, userID: reminder.userID, state: reminder.state.rawValue, timeZone: "",
            // `MemoryIngestTransaction` stands for a NULL `due_at` with the distant future.
            dueAt: reminder.dueAt == .distantFuture ? nil : reminder.dueAt.databaseText,
            expiresAt: reminder.expiresAt?.databaseText, attempts: reminder.attempts,
            channels: Self.channelTypes(reminder.channels), correlationID: nil, traceID: nil, createdAt: "",
            updatedAt: "",
            transitions: reminder.history.map {
                ReminderReport.Transition(
                    from: $0.from.rawValue, to: $0.to.rawValue, event: $0.event.rawValue, attempt: 0, errorClass: nil,
                    detail: $0.detail, at: "")
            },
            channelAttempts: reminder.channelAttempts.map {
                ReminderReport.ChannelAttempt(
                    attempt: 0, channelIndex: $0.channelIndex, channel: $0.channel, provider: $0.provider,
                    outcome: $0.outcome.rawValue, errorClass: $0.errorClass, answer: $0.answer,
                    latencyMilliseconds: $0.latency.inSeconds * 1_000, retryDelayMilliseconds: nil, at: "")
            })
    }

    public func countWaitingByState() async throws(StoreError) -> [String: Int] {
        try failIfTold("count reminders by state")
        let counted = Set(ReminderLookup.waitingStates)
        var counts: [String: Int] = [:]
        for reminder in reminders.reminders where counted.contains(reminder.state) {
            counts[reminder.state.rawValue, default: 0] += 1
        }
        return counts
    }

    public func ping() async throws(StoreError) {
        try failIfTold("reach the database")
    }

    /// Each channel's `type`, in order, as `c->>'type'` over `jsonb_array_elements(channels)`
    /// reads them: the channels are not validated again.
    private static func channelTypes(_ json: String) -> [String] {
        guard let items = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [Any] else { return [] }
        return items.compactMap { ($0 as? [String: Any])?["type"] as? String }
    }

    private func failIfTold(_ operation: String) throws(StoreError) {
        if let error = failures.withLock({ $0.next(operation) }) { throw error }
    }
}
