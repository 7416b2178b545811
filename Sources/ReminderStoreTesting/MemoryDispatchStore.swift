import Foundation
import ReminderCore
import ReminderStore
import Synchronization

/// The dispatcher's store in memory, for tests of the logic above the store without a
/// database: it claims and records exactly as `ReminderCore` decides (the claim table of
/// `ReminderStateMachine`, `CompletionPlanner`'s plans), as `DispatchStore` does in SQL,
/// and keeps every reminder's history for the test to read. Its clock is injected, and it
/// can be told to fail like an unreachable database. A `MemoryIngestStore` writes the
/// reminders its events create, replace and cancel here, so a test can ingest and then
/// dispatch without a database.
public final class MemoryDispatchStore: DispatchStoring {
    /// A reminder as the store keeps it.
    public struct Reminder: Sendable, Equatable {
        public let id: Int64
        public let reminderID: String
        public internal(set) var userID: String
        public internal(set) var state: ReminderState
        /// Delivery attempts claimed so far.
        public internal(set) var attempts: Int
        public internal(set) var dueAt: Date
        public internal(set) var expiresAt: Date?
        public internal(set) var leaseUntil: Date?
        /// The channel list and content as JSON, as ingest stores them.
        public internal(set) var channels: String
        public internal(set) var content: String
        public internal(set) var channelFailures: [Int]
        public internal(set) var channelStatus: String
        /// Every transition, in order.
        public internal(set) var history: [ReminderTransition]
        /// The dead letters written with it, by reason.
        public internal(set) var deadLetters: [DeadLetterReason]
        /// The ids of those dead letters, in the same order: what a replay names.
        public internal(set) var deadLetterIDs: [UUID] = []
        /// Every channel tried, over all attempts.
        public internal(set) var channelAttempts: [ChannelAttempt]
        /// A cancel or replace waiting for the attempt in flight (`reminders.pending_change`).
        public internal(set) var pendingChange: PendingChange? = nil
        /// The replacement waiting with it (`pending_replacements`).
        public internal(set) var pendingReplacement: Replacement? = nil
        /// The user's zone and quiet hours.
        public internal(set) var timeZone = "UTC"
        public internal(set) var quietHours: QuietHours? = nil
    }

    /// What a schedule sets on a reminder, kept while it waits as a pending replacement.
    public struct Replacement: Sendable, Equatable {
        public let userID: String
        public let dueAt: Date
        public let expiresAt: Date?
        public let channels: String
        public let content: String
        public let timeZone: String
        public let quietHours: QuietHours?
    }

    /// Internal for `MemoryIngestStore`, which writes reminders in its own transaction.
    struct Contents {
        var reminders: [Int64: Reminder] = [:]
        var nextID: Int64 = 1
        /// Calls left to fail.
        var failures = ToldFailures()
    }

    private let contents = Mutex(Contents())
    /// Holds `complete` while closed.
    private let completions = CallGate()
    /// The store's clock; internal for `MemoryIngestStore` (a replay makes a reminder due now).
    let now: @Sendable () -> Date

    /// `now`: the store's clock (due times and leases are read against it).
    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }

    /// Adds a reminder as ingest leaves a new `schedule`: its first transition decided by
    /// the state machine. Returns its store id.
    @discardableResult
    public func schedule(
        reminderID: String, userID: String = "user-1", channels: String, content: String, dueAt: Date,
        expiresAt: Date? = nil, timeZone: String = "UTC", quietHours: QuietHours? = nil
    ) -> Int64 {
        let first: ReminderTransition
        do {
            first = ReminderTransition(
                from: .pending, to: try ReminderStateMachine.transition(from: .pending, on: .schedule), event: .schedule
            )
        } catch {
            preconditionFailure("\(error)")
        }
        return contents.withLock { contents in
            let id = contents.nextID
            contents.nextID += 1
            contents.reminders[id] = Reminder(
                id: id, reminderID: reminderID, userID: userID, state: first.to, attempts: 0, dueAt: dueAt,
                expiresAt: expiresAt, leaseUntil: nil, channels: channels, content: content,
                // No channel tried yet, as ingest stores a new reminder.
                channelFailures: [], channelStatus: "", history: [first],
                deadLetters: [], channelAttempts: [], timeZone: timeZone, quietHours: quietHours)
            return id
        }
    }

    /// A cancel consumed while the reminder is in flight, as ingest stores it: deferred as
    /// the state machine says, with its transition. Returns whether it now waits.
    @discardableResult
    public func deferCancel(of id: Int64) -> Bool {
        contents.withLock { contents in
            guard var reminder = contents.reminders[id],
                case .deferred(let change) = ReminderStateMachine.deferral(
                    of: .cancel, in: reminder.state, pending: reminder.pendingChange)
            else { return false }
            reminder.pendingChange = change
            reminder.pendingReplacement = nil
            reminder.history.append(
                ReminderTransition(
                    from: reminder.state, to: reminder.state, event: .cancel, detail: IngestPlanner.deferredDetail))
            contents.reminders[id] = reminder
            return true
        }
    }

    /// The reminder with store id `id`, as it is now.
    public func reminder(_ id: Int64) -> Reminder? {
        contents.withLock { $0.reminders[id] }
    }

    /// Every reminder, by store id.
    public var reminders: [Reminder] {
        contents.withLock { $0.reminders.values.sorted { $0.id < $1.id } }
    }

    /// The next `count` calls fail as a database that cannot be reached does.
    public func failNext(_ count: Int) {
        contents.withLock { $0.failures.remaining = count }
    }

    /// From now on `complete` waits, as against a database that is slow to answer, until
    /// `answerCompletions()`.
    public func holdCompletions() {
        completions.close()
    }

    /// Lets the held `complete` calls go on (and the next ones through).
    public func answerCompletions() {
        completions.open()
    }

    /// `complete` calls waiting to be answered.
    public var heldCompletions: Int { completions.waitingCount }

    public func claim(limit: Int, lease: Duration, takingOver: Bool) async throws(StoreError)
        -> [DispatchStore.Claimed]
    {
        try failIfTold("claim due reminders")
        let now = self.now()
        return contents.withLock { contents in
            // `resolveAbandonedChanges`: a change waiting on a reminder whose lease ran
            // out applies without another send.
            for reminder in contents.reminders.values.sorted(by: { $0.id < $1.id })
            where takingOver && reminder.state == ReminderStateMachine.claimTarget && reminder.pendingChange != nil
                && (reminder.leaseUntil ?? .distantFuture) <= now
            {
                var resolved = reminder
                Self.apply(CompletionPlanner.abandoned(pending: reminder.pendingChange!), to: &resolved, now: now)
                contents.reminders[reminder.id] = resolved
            }
            let waiting = Set(ReminderStateMachine.waitingStates)
            let inFlight = ReminderStateMachine.claimTarget
            var candidates: [(since: Date, id: Int64)] = []
            for reminder in contents.reminders.values {
                if waiting.contains(reminder.state), reminder.dueAt <= now {
                    candidates.append((reminder.dueAt, reminder.id))
                } else if takingOver, ReminderStateMachine.takesOverExpiredLeases, reminder.state == inFlight,
                    reminder.pendingChange == nil, let lease = reminder.leaseUntil, lease <= now
                {
                    candidates.append((lease, reminder.id))
                }
            }
            candidates.sort { ($0.since, $0.id) < ($1.since, $1.id) }
            var claimed: [DispatchStore.Claimed] = []
            for candidate in candidates.prefix(limit) {
                guard var reminder = contents.reminders[candidate.id],
                    let next = try? ReminderStateMachine.transition(from: reminder.state, on: .claim)
                else { continue }
                let previous = reminder.state
                reminder.history.append(ReminderTransition(from: previous, to: next, event: .claim))
                reminder.state = next
                reminder.attempts += 1
                reminder.leaseUntil = now.addingTimeInterval(lease.inSeconds)
                contents.reminders[candidate.id] = reminder
                claimed.append(
                    DispatchStore.Claimed(
                        id: reminder.id, reminderID: reminder.reminderID, userID: reminder.userID,
                        previousState: previous, attempt: reminder.attempts, dueAt: reminder.dueAt,
                        expiresAt: reminder.expiresAt, leaseUntil: reminder.leaseUntil!, channels: reminder.channels,
                        content: reminder.content, correlationID: nil, channelFailures: reminder.channelFailures,
                        channelStatus: reminder.channelStatus, trace: nil, timeZone: reminder.timeZone,
                        quietHours: reminder.quietHours))
            }
            return claimed.sorted { ($0.dueAt, $0.id) < ($1.dueAt, $1.id) }
        }
    }

    public func renew(_ leases: [DispatchStore.Lease], lease: Duration) async throws(StoreError) -> Set<Int64> {
        try failIfTold("renew \(leases.count) leases")
        let until = now().addingTimeInterval(lease.inSeconds)
        return contents.withLock { contents in
            var lost = Set<Int64>()
            for held in leases {
                guard var reminder = contents.reminders[held.id], reminder.attempts == held.attempt,
                    reminder.state == ReminderStateMachine.claimTarget
                else {
                    lost.insert(held.id)
                    continue
                }
                reminder.leaseUntil = until
                contents.reminders[held.id] = reminder
            }
            return lost
        }
    }

    public func nextDueTime() async throws(StoreError) -> Date? {
        try failIfTold("look up the next due time")
        return contents.withLock { contents in
            let waiting = Set(ReminderStateMachine.waitingStates)
            return contents.reminders.values.compactMap { reminder -> Date? in
                if waiting.contains(reminder.state) { return reminder.dueAt }
                if reminder.state == ReminderStateMachine.claimTarget { return reminder.leaseUntil }
                return nil
            }.min()
        }
    }

    @discardableResult
    public func complete(_ completions: [DispatchStore.Completion]) async throws(StoreError)
        -> DispatchStore.CompletionReport
    {
        await self.completions.pass()
        try failIfTold("record \(completions.count) delivery attempts")
        let now = self.now()
        return contents.withLock { contents in
            var report = DispatchStore.CompletionReport()
            for completion in completions {
                // Planned with the change pending on the reminder now, as `DispatchStore`
                // plans again a completion whose reminder holds another than planned.
                let pending = contents.reminders[completion.id]?.pendingChange
                let plan = CompletionPlanner.plan(completion.result, pending: pending)
                guard var reminder = contents.reminders[completion.id], reminder.state == plan.expected,
                    reminder.attempts == completion.attempt
                else {
                    report.notRecorded.insert(completion.id)
                    continue
                }
                if let pending, plan.final != .delivered { report.changed[completion.id] = pending }
                reminder.channelFailures = completion.progress.failures
                reminder.channelStatus = completion.progress.statusCodes
                Self.apply(plan, to: &reminder, now: now)
                if let reason = plan.deadLetter {
                    reminder.deadLetters.append(reason)
                    reminder.deadLetterIDs.append(UUID())
                }
                reminder.channelAttempts += completion.channelAttempts
                contents.reminders[completion.id] = reminder
            }
            return report
        }
    }

    /// `completeSQL`'s update of one reminder: its new state and history; a pending
    /// replacement becomes the reminder (no attempts, no channel history).
    private static func apply(_ plan: CompletionPlanner.Plan, to reminder: inout Reminder, now: Date) {
        reminder.state = plan.final
        reminder.leaseUntil = nil
        if let delay = plan.retryAfter { reminder.dueAt = now.addingTimeInterval(delay.inSeconds) }
        if plan.appliesReplacement, let replacement = reminder.pendingReplacement {
            reminder.userID = replacement.userID
            reminder.dueAt = replacement.dueAt
            reminder.expiresAt = replacement.expiresAt
            reminder.channels = replacement.channels
            reminder.content = replacement.content
            reminder.timeZone = replacement.timeZone
            reminder.quietHours = replacement.quietHours
            reminder.attempts = 0
            reminder.channelFailures = []
            reminder.channelStatus = ""
        }
        reminder.pendingChange = nil
        reminder.pendingReplacement = nil
        reminder.history += plan.steps
    }

    /// Runs `body` on the reminders under the store's lock: one transaction of
    /// `MemoryIngestStore`'s, which no claim or completion interleaves with.
    func withContents<T: Sendable>(_ body: (inout Contents) -> T) -> T {
        contents.withLock { body(&$0) }
    }

    private func failIfTold(_ operation: String) throws(StoreError) {
        if let error = contents.withLock({ $0.failures.next(operation) }) { throw error }
    }
}
