import Foundation
import NIOCore
import PostgresNIO
import ReminderCore

extension IngestStore {
    /// Replayed dead letters (messages with `x-replay-of`), in the batch's transaction.
    /// The store reads what `ReplayPlanner` needs (the dead letter, its reminder locked,
    /// whether it was replayed before) and writes what it decides: each dead letter is
    /// replayed once (`dead_letter_replays`); its reminder, if it is still dead-lettered
    /// because of this dead letter, goes back to be delivered, due now, with no attempts
    /// and no channel history, without an expiry that has passed (the operator chose to
    /// deliver it late), and continuing the replay's trace. A replay that names no dead
    /// letter, or one of a reason that replaying cannot mend, is itself dead-lettered as
    /// invalid.
    func applyReplays(
        _ positions: Range<Int>, _ records: [IngestRecord],
        on connection: PostgresConnection, summary: inout IngestSummary, deadLetters: inout [DeadLetter]
    ) async throws {
        let replays = positions.compactMap { position -> ReplayPlanner.Replay? in
            guard case .replay(let id) = records[position].decoded else { return nil }
            return ReplayPlanner.Replay(position: position, deadLetter: id)
        }
        let ids = Array(Set(replays.map(\.deadLetter)))
        var letters: [UUID: ReplayPlanner.DeadLetterFacts] = [:]
        let rows = try await connection.query(
            "SELECT id, reason, reminder_id FROM dead_letters WHERE id = ANY(\(ids))", logger: logger)
        for try await (id, reason, reminder) in rows.decode((UUID, String, Int64?).self) {
            letters[id] = ReplayPlanner.DeadLetterFacts(reason: DeadLetterReason(rawValue: reason), reminder: reminder)
        }
        let (reminders, replayedBefore) = try await replayFacts(
            of: letters.values.filter { ReplayPlanner.problem(with: $0) == nil }.compactMap(\.reminder),
            deadLetters: ids, on: connection)
        let plan = ReplayPlanner.plan(
            replays, deadLetters: letters, reminders: reminders, replayedBefore: replayedBefore)
        summary.invalid += plan.invalid.count
        summary.replaysIgnored += plan.ignored
        summary.replayed += plan.resets.count
        for invalid in plan.invalid {
            deadLetters.append(
                DeadLetter(
                    record: records[invalid.position],
                    reason: DeadLetterReason.invalidEvent.rawValue,
                    error: "(header \(IngestRecord.replayHeader)): \(invalid.deadLetter): \(invalid.problem)",
                    idempotencyKey: nil, correlationID: nil,
                    userID: ReminderEventDecoder.userID(ofInvalid: records[invalid.position].value)))
        }
        let resets = plan.resets.map {
            ReplayReset(id: $0.reminder, transition: $0.transition, trace: records[$0.position].trace)
        }
        // Every valid replay is recorded, reset or not, so that a later replay of the
        // same record never resets it.
        let newlyReplayed = Array(plan.newlyReplayed)
        if !newlyReplayed.isEmpty {
            try await connection.query(
                """
                INSERT INTO dead_letter_replays (dead_letter_id) SELECT unnest(\(newlyReplayed)::uuid[])
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
        guard !resets.isEmpty else { return }
        var binds = PostgresBindings(capacity: ReplayReset.columns.count)
        ReplayReset.bind(resets, into: &binds)
        try await connection.query(
            PostgresQuery(unsafeSQL: statusEvents ? Self.resetWithStatusSQL : Self.resetSQL, binds: binds),
            logger: logger)
        try await connection.query("SELECT pg_notify(\(DispatchStore.wakeChannel), '')", logger: logger)
    }

    /// Each reset reminder's new state and, with it, its transition. A replay without a
    /// trace leaves the reminder's trace as it was.
    private static let resetSQL = resetSQL(statusEvents: false)
    /// The same, with each reset's status event.
    private static let resetWithStatusSQL = resetSQL(statusEvents: true)

    private static func resetSQL(statusEvents: Bool) -> String {
        let status =
            statusEvents
            ? """
            ,
            status AS (
                INSERT INTO status_events (reminder, reminder_id, user_id, correlation_id, type, occurrence, attempt,
                    due_at, detail)
                SELECT id, reminder_id, user_id, correlation_id, '\(StatusUpdate.replayed.kind.rawValue)', occurrence,
                    0, due_at, '\(StatusUpdate.replayed.detail ?? "")'
                FROM reset)
            """ : ""
        return """
            WITH reset AS (
                UPDATE reminders r SET state = t.to_state, attempts = 0, lease_until = NULL,
                    channel_failures = '{}', channel_status = '', due_at = now(),
                    expires_at = CASE WHEN r.expires_at <= now() THEN NULL ELSE r.expires_at END, updated_at = now(),
                    trace_parent = coalesce(t.trace_parent, r.trace_parent),
                    trace_state = CASE WHEN t.trace_parent IS NULL THEN r.trace_state ELSE t.trace_state END
                FROM \(ReplayReset.unnest(bindingFrom: 1, as: "t"))
                WHERE r.id = t.id
                RETURNING r.id, r.reminder_id, r.user_id, r.correlation_id, r.occurrence, r.due_at),
            history AS (
                INSERT INTO reminder_transitions (reminder_id, from_state, to_state, event, detail, occurrence)
                SELECT t.id, t.from_state, t.to_state, t.event, t.detail, reset.occurrence
                FROM \(ReplayReset.unnest(bindingFrom: 1, as: "t", ordinality: true))
                JOIN reset ON reset.id = t.id
                ORDER BY t.ord)\(status)
            SELECT count(*) FROM reset
            """
    }

    /// The reminders named by replayable dead letters, locked, with the id of each one's
    /// latest dead letter; and which of `deadLetters` were replayed before. The lock comes
    /// first: a replay of the same dead letter committed meanwhile is then seen.
    private func replayFacts(of reminderIDs: [Int64], deadLetters: [UUID], on connection: PostgresConnection)
        async throws -> (reminders: [Int64: ReplayPlanner.StoredReminder], replayedBefore: Set<UUID>)
    {
        var reminders: [Int64: ReplayPlanner.StoredReminder] = [:]
        if !reminderIDs.isEmpty {
            let rows = try await connection.query(
                """
                SELECT r.id, r.state,
                    (SELECT d.id FROM dead_letters d WHERE d.reminder_id = r.id ORDER BY d.seq DESC LIMIT 1)
                FROM reminders r WHERE r.id = ANY(\(Array(Set(reminderIDs)))) ORDER BY r.id FOR UPDATE OF r
                """, logger: logger)
            for try await (id, state, latest) in rows.decode((Int64, String, UUID?).self) {
                if let state = ReminderState(rawValue: state) {
                    reminders[id] = ReplayPlanner.StoredReminder(state: state, latestDeadLetter: latest)
                }
            }
        }
        var replayedBefore = Set<UUID>()
        let rows = try await connection.query(
            "SELECT dead_letter_id FROM dead_letter_replays WHERE dead_letter_id = ANY(\(deadLetters))",
            logger: logger)
        for try await id in rows.decode(UUID.self) { replayedBefore.insert(id) }
        return (reminders, replayedBefore)
    }
}

/// A reminder a replay resets for delivery: its transition, and the trace it continues.
private struct ReplayReset: BatchRow {
    let id: Int64
    let transition: ReminderTransition
    let trace: TraceContextHeaders?

    static let columns: [BoundColumn<ReplayReset>] = [
        BoundColumn("id") { $0.id },
        BoundColumn("from_state") { $0.transition.from.rawValue },
        BoundColumn("to_state") { $0.transition.to.rawValue },
        BoundColumn("event") { $0.transition.event.rawValue },
        BoundColumn("detail") { $0.transition.detail },
        BoundColumn("trace_parent") { $0.trace?.storedTraceParent },
        BoundColumn("trace_state") { $0.trace?.storedTraceState },
    ]
}
