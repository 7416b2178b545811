import Foundation
import NIOCore
import PostgresNIO
import ReminderCore

extension IngestStore {
    /// Replayed dead letters (messages with `x-replay-of`), in the batch's transaction.
    /// Each dead letter is replayed once (`dead_letter_replays`): its reminder, if it is
    /// still in DEAD_LETTER because of this dead letter, goes back to SCHEDULED, due now,
    /// with no attempts and no channel history, and without an expiry that has passed
    /// (the operator chose to deliver it late), and continuing the replay's trace. A
    /// replay that names no dead letter, or one of a reason that replaying cannot mend,
    /// is itself dead-lettered as invalid.
    func applyReplays(
        _ positions: Range<Int>, _ records: [IngestRecord], _ payloads: [ByteBuffer],
        on connection: PostgresConnection, summary: inout IngestSummary, deadLetters: inout [DeadLetter]
    ) async throws {
        let replays = positions.compactMap { position -> (position: Int, deadLetter: UUID)? in
            guard case .replay(let id) = records[position].decoded else { return nil }
            return (position, id)
        }
        let ids = Array(Set(replays.map(\.deadLetter)))
        let rows = try await connection.query(
            "SELECT id, reason, reminder_id FROM dead_letters WHERE id = ANY(\(ids))", logger: logger)
        var known: [UUID: (reason: DeadLetterReason?, reminder: Int64?)] = [:]
        for try await (id, reason, reminder) in rows.decode((UUID, String, Int64?).self) {
            known[id] = (DeadLetterReason(rawValue: reason), reminder)
        }
        // The reminder each replayed dead letter resets, and the first trace a replay of it carried.
        var wanted: [UUID: (reminder: Int64, trace: TraceContextHeaders?)] = [:]
        for (position, id) in replays {
            let problem: String
            switch known[id] {
            case nil:
                problem = "no dead letter has this id"
            case (let reason?, let reminder?)? where reason.isReplayable:
                wanted[id] = (reminder, wanted[id]?.trace ?? records[position].trace)
                continue
            case (let reason?, nil)? where reason.isReplayable:
                problem = "the dead letter names no reminder"
            case (let reason, _)?:
                problem =
                    "dead letters of reason \(reason?.rawValue ?? "unknown") cannot be replayed; "
                    + "publish a corrected event instead"
            }
            summary.invalid += 1
            deadLetters.append(
                DeadLetter(
                    record: records[position], payload: payloads[position],
                    reason: DeadLetterReason.invalidEvent.rawValue,
                    error: "(header \(IngestRecord.replayHeader)): \(id): \(problem)", idempotencyKey: "",
                    correlationID: ""))
        }
        let valid = replays.filter { wanted[$0.deadLetter] != nil }.count
        guard !wanted.isEmpty else { return }
        let deadLetterIDs = Array(wanted.keys)
        let reminderIDs = deadLetterIDs.map { wanted[$0]!.reminder }
        let traceParents = deadLetterIDs.map { wanted[$0]!.trace?.traceParent ?? "" }
        let traceStates = deadLetterIDs.map { wanted[$0]!.trace?.traceState ?? "" }
        // The replay is recorded whether or not the reminder can still be reset, so a
        // later replay of the same record never resets it.
        let reset = try await connection.query(
            """
            WITH first_replay AS (
                INSERT INTO dead_letter_replays (dead_letter_id) SELECT unnest(\(deadLetterIDs)::uuid[])
                ON CONFLICT DO NOTHING
                RETURNING dead_letter_id),
            reset AS (
                UPDATE reminders r SET state = 'SCHEDULED', attempts = 0, lease_until = NULL,
                    channel_failures = '{}', channel_status = '', due_at = now(),
                    expires_at = CASE WHEN r.expires_at <= now() THEN NULL ELSE r.expires_at END, updated_at = now(),
                    trace_parent = coalesce(NULLIF(t.trace_parent, ''), r.trace_parent),
                    trace_state = CASE WHEN t.trace_parent = '' THEN r.trace_state ELSE NULLIF(t.trace_state, '') END
                FROM unnest(\(deadLetterIDs)::uuid[], \(reminderIDs)::int8[], \(traceParents)::text[],
                    \(traceStates)::text[]) AS t(dead_letter_id, reminder_id, trace_parent, trace_state)
                JOIN first_replay f ON f.dead_letter_id = t.dead_letter_id
                JOIN dead_letters d ON d.id = t.dead_letter_id
                WHERE r.id = t.reminder_id AND r.state = 'DEAD_LETTER'
                  AND NOT EXISTS (SELECT 1 FROM dead_letters later WHERE later.reminder_id = r.id AND later.seq > d.seq)
                RETURNING r.id, t.dead_letter_id)
            INSERT INTO reminder_transitions (reminder_id, from_state, to_state, event, detail)
            SELECT id, 'DEAD_LETTER', 'SCHEDULED', 'replay', 'dead letter ' || dead_letter_id FROM reset
            RETURNING reminder_id
            """, logger: logger)
        var resetCount = 0
        for try await _ in reset.decode(Int64.self) { resetCount += 1 }
        summary.replayed += resetCount
        summary.replaysIgnored += valid - resetCount
        if resetCount > 0 {
            try await connection.query("SELECT pg_notify(\(DispatchStore.wakeChannel), '')", logger: logger)
        }
    }
}
