import Foundation
import ReminderCore
import ReminderStore

/// One `MemoryIngestStore.ingest` call: `IngestStore`'s transaction (IngestStore.swift,
/// IngestStore+Replay.swift, IngestStore+DeadLetters.swift) step by step, on copies of the
/// ingest tables and of the reminders, which the store writes back once it is done. The
/// comments name the statement each step stands for; a change to one belongs in both.
struct MemoryIngestTransaction {
    private(set) var tables: MemoryIngestStore.Tables
    private(set) var reminders: MemoryDispatchStore.Contents
    /// `now()` in the transaction: a replayed reminder is due then.
    let now: Date
    private(set) var summary = IngestSummary()
    /// Written last, as `insertDeadLetters` is.
    private var deadLetters: [MemoryIngestStore.DeadLetter] = []

    init(tables: MemoryIngestStore.Tables, reminders: MemoryDispatchStore.Contents, now: Date) {
        self.tables = tables
        self.reminders = reminders
        self.now = now
    }

    /// Replays and events in the order they came, run by run, as if each run were a batch
    /// of its own, then the dead letters.
    mutating func apply(_ records: [IngestRecord]) {
        for run in IngestRecord.runs(of: records) {
            if run.replaying {
                applyReplays(run.positions, records)
            } else {
                storeEvents(run.positions, records)
            }
        }
        insertDeadLetters()
    }

    // MARK: Events

    /// `storeEvents`: the inbox, then the reminders the new events create, replace or
    /// cancel; invalid and conflicting events become dead letters.
    private mutating func storeEvents(_ positions: Range<Int>, _ records: [IngestRecord]) {
        let run = EventRun(positions, of: records)
        summary.invalid += run.invalidCount
        summary.duplicates += run.duplicates
        summary.conflicts += run.conflictCount
        for refused in run.refused {
            switch refused {
            case .invalid(let position, let error):
                deadLetters.append(
                    Self.deadLetter(
                        records[position], reason: .invalidEvent, error: "\(error)", idempotencyKey: nil,
                        correlationID: nil))
            case .conflict(let input):
                deadLetters.append(Self.conflict(records[input.position], input.event))
            }
        }
        let candidates = run.candidates
        let inputs = insertInbox(candidates, records)
        summary.accepted += inputs.count
        guard !inputs.isEmpty else { return }
        let plan = IngestPlanner.plan(inputs, stored: lockReminders(Set(inputs.map(\.event.reminderID))))
        summary.skipped += plan.skipped
        summary.ownershipConflicts += plan.rejected.count
        for rejected in plan.rejected {
            deadLetters.append(
                Self.deadLetter(
                    records[rejected.position], reason: rejected.reason, error: rejected.error,
                    idempotencyKey: rejected.event.idempotencyKey, correlationID: rejected.event.correlationID))
        }
        summary.created += write(plan, records)
    }

    /// `insertInboxSQL` (`ON CONFLICT DO NOTHING`) and `compareWithInboxSQL`: returns the
    /// candidates whose key was new; keys stored before are duplicates (the same payload:
    /// the database compares their SHA-256, here the bytes) or conflicts.
    private mutating func insertInbox(_ candidates: [IngestPlanner.Input], _ records: [IngestRecord])
        -> [IngestPlanner.Input]
    {
        var inserted: [IngestPlanner.Input] = []
        var seen: [IngestPlanner.Input] = []
        for candidate in candidates {
            let record = records[candidate.position]
            let key = candidate.event.idempotencyKey
            guard tables.inbox[key] == nil else {
                seen.append(candidate)
                continue
            }
            tables.inbox[key] = MemoryIngestStore.InboxEntry(
                payload: record.value ?? [], reminderID: candidate.event.reminderID, origin: Self.origin(record))
            tables.inboxOrder.append(key)
            inserted.append(candidate)
        }
        for candidate in seen {
            let record = records[candidate.position]
            if tables.inbox[candidate.event.idempotencyKey]?.payload == record.value ?? [] {
                summary.duplicates += 1
            } else {
                summary.conflicts += 1
                deadLetters.append(Self.conflict(record, candidate.event))
            }
        }
        return inserted
    }

    /// `lockReminders`: the stored reminders the events name, by reminder id.
    private func lockReminders(_ reminderIDs: Set<String>) -> [String: IngestPlanner.Stored] {
        var stored: [String: IngestPlanner.Stored] = [:]
        for reminder in reminders.reminders.values where reminderIDs.contains(reminder.reminderID) {
            stored[reminder.reminderID] = IngestPlanner.Stored(
                id: reminder.id, state: reminder.state, userID: reminder.userID, pending: reminder.pendingChange)
        }
        return stored
    }

    /// `write`: inserts (`insertSQL`), replaces (`replaceSQL`: the new schedule whole, no
    /// attempts, no lease, no channel history) and state changes (`changeStatesSQL`), each
    /// with its transitions. Returns how many reminders it created.
    private mutating func write(_ plan: IngestPlanner.Plan, _ records: [IngestRecord]) -> Int {
        var created = 0
        for write in plan.writes {
            let transitions = write.transitions.map {
                ReminderTransition(from: $0.from, to: $0.to, event: $0.event, detail: $0.detail)
            }
            if let pending = write.pending, let id = write.existing, var reminder = reminders.reminders[id] {
                // `setPendingSQL` and `pendingReplacementSQL`: the change waits on the
                // reminder in flight; a cancel drops a waiting replacement.
                reminder.pendingChange = pending.change
                if case .replace(let position) = pending, case .valid(let event) = records[position].decoded,
                    case .schedule(let schedule) = event.action
                {
                    reminder.pendingReplacement = MemoryDispatchStore.Replacement(
                        userID: event.userID,
                        dueAt: DeliveryTimeCalculator.dueInstant(for: schedule)?.date ?? .distantFuture,
                        expiresAt: schedule.expiresAt?.date, channels: StoredDelivery.json(schedule.channels),
                        content: StoredDelivery.json(schedule.content), timeZone: schedule.timeZone,
                        quietHours: schedule.quietHours)
                } else {
                    reminder.pendingReplacement = nil
                }
                reminder.history += transitions
                reminders.reminders[id] = reminder
            } else if let position = write.contentFrom, case .valid(let event) = records[position].decoded,
                case .schedule(let schedule) = event.action
            {
                // The decoder accepts only zones of the tz database, so a due time exists;
                // without one a reminder would never be claimed, as a NULL `due_at` is not.
                let dueAt = DeliveryTimeCalculator.dueInstant(for: schedule)?.date ?? .distantFuture
                if let id = write.existing {
                    guard var reminder = reminders.reminders[id] else { continue }
                    reminder.userID = event.userID
                    reminder.state = write.finalState
                    reminder.dueAt = dueAt
                    reminder.expiresAt = schedule.expiresAt?.date
                    reminder.channels = StoredDelivery.json(schedule.channels)
                    reminder.content = StoredDelivery.json(schedule.content)
                    reminder.timeZone = schedule.timeZone
                    reminder.quietHours = schedule.quietHours
                    reminder.attempts = 0
                    reminder.leaseUntil = nil
                    reminder.channelFailures = []
                    reminder.channelStatus = ""
                    reminder.history += transitions
                    reminders.reminders[id] = reminder
                } else {
                    let id = reminders.nextID
                    reminders.nextID += 1
                    reminders.reminders[id] = MemoryDispatchStore.Reminder(
                        id: id, reminderID: event.reminderID, userID: event.userID, state: write.finalState,
                        attempts: 0, dueAt: dueAt, expiresAt: schedule.expiresAt?.date, leaseUntil: nil,
                        channels: StoredDelivery.json(schedule.channels),
                        content: StoredDelivery.json(schedule.content),
                        channelFailures: [], channelStatus: "", history: transitions, deadLetters: [],
                        channelAttempts: [], timeZone: schedule.timeZone, quietHours: schedule.quietHours)
                    created += 1
                }
            } else if let id = write.existing, var reminder = reminders.reminders[id] {
                reminder.state = write.finalState
                reminder.leaseUntil = nil
                reminder.history += transitions
                reminders.reminders[id] = reminder
            }
        }
        return created
    }

    // MARK: Replays

    /// `applyReplays`: each dead letter is replayed once; its reminder, if it is still
    /// dead-lettered because of this dead letter, goes back to be delivered, due now, with
    /// no attempts and no channel history, without an expiry that has passed. A replay
    /// that names no dead letter, or one of a reason replaying cannot mend, is dead-lettered
    /// as invalid.
    private mutating func applyReplays(_ positions: Range<Int>, _ records: [IngestRecord]) {
        let replays = positions.compactMap { position -> ReplayPlanner.Replay? in
            guard case .replay(let id) = records[position].decoded else { return nil }
            return ReplayPlanner.Replay(position: position, deadLetter: id)
        }
        let ids = Set(replays.map(\.deadLetter))
        var letters: [UUID: ReplayPlanner.DeadLetterFacts] = [:]
        for id in ids { letters[id] = deadLetterFacts(id) }
        // `replayFacts`: the reminders of replayable dead letters, each with its latest
        // dead letter; and which of the dead letters were replayed before.
        var facts: [Int64: ReplayPlanner.StoredReminder] = [:]
        for letter in letters.values where ReplayPlanner.problem(with: letter) == nil {
            if let id = letter.reminder, let reminder = reminders.reminders[id] {
                facts[id] = ReplayPlanner.StoredReminder(
                    state: reminder.state, latestDeadLetter: reminder.deadLetterIDs.last)
            }
        }
        let plan = ReplayPlanner.plan(
            replays, deadLetters: letters, reminders: facts, replayedBefore: tables.replayed.intersection(ids))
        summary.invalid += plan.invalid.count
        summary.replaysIgnored += plan.ignored
        summary.replayed += plan.resets.count
        for invalid in plan.invalid {
            deadLetters.append(
                Self.deadLetter(
                    records[invalid.position], reason: .invalidEvent,
                    error: "(header \(IngestRecord.replayHeader)): \(invalid.deadLetter): \(invalid.problem)",
                    idempotencyKey: nil, correlationID: nil))
        }
        // `dead_letter_replays`: every valid replay, reset or not.
        tables.replayed.formUnion(plan.newlyReplayed)
        let resets = plan.resets.map { (id: $0.reminder, transition: $0.transition) }
        // `resetSQL`
        for reset in resets {
            guard var reminder = reminders.reminders[reset.id] else { continue }
            reminder.state = reset.transition.to
            reminder.attempts = 0
            reminder.leaseUntil = nil
            reminder.channelFailures = []
            reminder.channelStatus = ""
            reminder.dueAt = now
            if let expiresAt = reminder.expiresAt, expiresAt <= now { reminder.expiresAt = nil }
            reminder.history.append(reset.transition)
            reminders.reminders[reset.id] = reminder
        }
    }

    /// `SELECT id, reason, reminder_id FROM dead_letters`: ingest's own (which name no
    /// reminder) and those the dispatcher's completions wrote with their reminders. Those
    /// written in this transaction are not seen: they are inserted last.
    private func deadLetterFacts(_ id: UUID) -> ReplayPlanner.DeadLetterFacts? {
        if let letter = tables.deadLetters.first(where: { $0.id == id }) {
            return ReplayPlanner.DeadLetterFacts(reason: letter.reason, reminder: nil)
        }
        for reminder in reminders.reminders.values {
            if let index = reminder.deadLetterIDs.firstIndex(of: id) {
                return ReplayPlanner.DeadLetterFacts(reason: reminder.deadLetters[index], reminder: reminder.id)
            }
        }
        return nil
    }

    // MARK: Dead letters

    /// `insertDeadLettersSQL`, `ON CONFLICT DO NOTHING` on `dead_letters_ingest_once`: a
    /// message read twice (topic, partition, offset, reason and bytes) is dead-lettered once.
    private mutating func insertDeadLetters() {
        for letter in deadLetters {
            let stored = tables.deadLetters.contains {
                $0.origin == letter.origin && $0.reason == letter.reason && ($0.value ?? []) == (letter.value ?? [])
            }
            if !stored { tables.deadLetters.append(letter) }
        }
    }

    private static func conflict(_ record: IngestRecord, _ event: ReminderEvent) -> MemoryIngestStore.DeadLetter {
        deadLetter(
            record, reason: .idempotencyConflict, error: "idempotency_key: seen before with a different payload",
            idempotencyKey: event.idempotencyKey, correlationID: event.correlationID)
    }

    private static func deadLetter(
        _ record: IngestRecord, reason: DeadLetterReason, error: String, idempotencyKey: String?,
        correlationID: String?
    ) -> MemoryIngestStore.DeadLetter {
        MemoryIngestStore.DeadLetter(
            id: UUID(), reason: reason, error: error, origin: origin(record), key: record.key, value: record.value,
            idempotencyKey: idempotencyKey, correlationID: correlationID)
    }

    private static func origin(_ record: IngestRecord) -> MemoryIngestStore.Origin {
        MemoryIngestStore.Origin(topic: record.topic, partition: record.partition, offset: record.offset)
    }
}
