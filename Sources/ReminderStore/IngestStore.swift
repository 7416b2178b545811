import Foundation
import Logging
import NIOCore
import PostgresNIO
import ReminderCore

/// Writes a batch of consumed messages in one transaction: the inbox (deduplication by
/// idempotency key and payload hash), the reminders the new events create, replace or
/// cancel with their transitions, and the dead letters of invalid and conflicting
/// events. Either all of it is stored or none of it; the caller commits offsets after.
public struct IngestStore: Sendable {
    private let client: PostgresClient
    private let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func ingest(_ records: [IngestRecord]) async throws(StoreError) -> IngestSummary {
        do {
            return try await client.withTransaction(logger: logger) { connection in
                try await ingest(records, on: connection)
            }
        } catch {
            throw StoreError.wrapping(error, operation: "store a batch of \(records.count) messages")
        }
    }

    private struct DeadLetter {
        let record: IngestRecord
        let reason: String
        let error: String
        let idempotencyKey: String
        let correlationID: String
    }

    private func ingest(_ records: [IngestRecord], on connection: PostgresConnection) async throws -> IngestSummary {
        var summary = IngestSummary()
        var deadLetters: [DeadLetter] = []
        // First occurrence of each key in the batch; later ones compare with it.
        var firstByKey: [String: Int] = [:]
        var candidates: [Int] = []
        for (position, record) in records.enumerated() {
            switch record.decoded {
            case .invalid(let error):
                summary.invalid += 1
                deadLetters.append(
                    DeadLetter(
                        record: record, reason: "invalid_event", error: "\(error)", idempotencyKey: "",
                        correlationID: ""))
            case .valid(let event):
                if let first = firstByKey[event.idempotencyKey] {
                    if records[first].value == record.value {
                        summary.duplicates += 1
                    } else {
                        summary.conflicts += 1
                        deadLetters.append(Self.conflict(record, event))
                    }
                } else {
                    firstByKey[event.idempotencyKey] = position
                    candidates.append(position)
                }
            }
        }

        let newPositions = try await insertInbox(
            candidates, records, on: connection, summary: &summary, deadLetters: &deadLetters)
        summary.accepted = newPositions.count
        var inputs: [IngestPlanner.Input] = []
        for position in newPositions {
            if case .valid(let event) = records[position].decoded {
                inputs.append(IngestPlanner.Input(position: position, event: event))
            }
        }
        if !inputs.isEmpty {
            let stored = try await lockReminders(Array(Set(inputs.map(\.event.reminderID))), on: connection)
            let plan = IngestPlanner.plan(inputs, stored: stored)
            summary.skipped = plan.skipped
            summary.created = try await write(plan, records, on: connection)
        }
        try await insertDeadLetters(deadLetters, on: connection)
        return summary
    }

    private static func conflict(_ record: IngestRecord, _ event: ReminderEvent) -> DeadLetter {
        DeadLetter(
            record: record, reason: "idempotency_conflict",
            error: "idempotency_key: seen before with a different payload", idempotencyKey: event.idempotencyKey,
            correlationID: event.correlationID ?? "")
    }

    /// Inserts the candidates' keys; returns the positions whose key was new. Keys seen
    /// before are duplicates (same payload) or conflicts (another payload).
    private func insertInbox(
        _ positions: [Int], _ records: [IngestRecord], on connection: PostgresConnection,
        summary: inout IngestSummary, deadLetters: inout [DeadLetter]
    ) async throws -> [Int] {
        guard !positions.isEmpty else { return [] }
        var keys: [String] = []
        var values: [ByteBuffer] = []
        var reminderIDs: [String] = []
        var partitions: [Int32] = []
        var offsets: [Int64] = []
        var positionByKey: [String: Int] = [:]
        for position in positions {
            guard case .valid(let event) = records[position].decoded else { continue }
            keys.append(event.idempotencyKey)
            values.append(ByteBuffer(bytes: records[position].value ?? []))
            reminderIDs.append(event.reminderID)
            partitions.append(records[position].partition)
            offsets.append(records[position].offset)
            positionByKey[event.idempotencyKey] = position
        }
        let inserted = try await connection.query(
            """
            INSERT INTO inbox (idempotency_key, payload_sha256, reminder_id, source_partition, source_offset)
            SELECT key, sha256(value), reminder_id, part, off
            FROM unnest(\(keys)::text[], \(values)::bytea[], \(reminderIDs)::text[], \(partitions)::int4[],
                        \(offsets)::int8[]) AS t(key, value, reminder_id, part, off)
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING idempotency_key
            """, logger: logger)
        var fresh = Set<Int>()
        for try await key in inserted.decode(String.self) {
            if let position = positionByKey.removeValue(forKey: key) { fresh.insert(position) }
        }
        if !positionByKey.isEmpty {
            // Keys stored before, by an earlier batch or another instance. A conflicting
            // insert waits for the other transaction to end, so its row is committed and
            // this statement's snapshot sees it.
            let seenKeys = Array(positionByKey.keys)
            let seenValues = seenKeys.map { ByteBuffer(bytes: records[positionByKey[$0]!].value ?? []) }
            let rows = try await connection.query(
                """
                SELECT t.key, coalesce(inbox.payload_sha256 = sha256(t.value), false)
                FROM unnest(\(seenKeys)::text[], \(seenValues)::bytea[]) AS t(key, value)
                LEFT JOIN inbox ON inbox.idempotency_key = t.key
                """, logger: logger)
            var samePayload: [String: Bool] = [:]
            for try await (key, same) in rows.decode((String, Bool).self) { samePayload[key] = same }
            for position in positions {
                guard case .valid(let event) = records[position].decoded, positionByKey[event.idempotencyKey] != nil
                else { continue }
                if samePayload[event.idempotencyKey] == true {
                    summary.duplicates += 1
                } else {
                    summary.conflicts += 1
                    deadLetters.append(Self.conflict(records[position], event))
                }
            }
        }
        return positions.filter { fresh.contains($0) }
    }

    private func lockReminders(_ reminderIDs: [String], on connection: PostgresConnection) async throws
        -> [String: IngestPlanner.Stored]
    {
        var stored: [String: IngestPlanner.Stored] = [:]
        let rows = try await connection.query(
            "SELECT id, reminder_id, state FROM reminders WHERE reminder_id = ANY(\(reminderIDs)) FOR UPDATE",
            logger: logger)
        for try await (id, reminderID, state) in rows.decode((Int64, String, String).self) {
            if let state = ReminderState(rawValue: state) {
                stored[reminderID] = IngestPlanner.Stored(id: id, state: state)
            }
        }
        return stored
    }

    /// Inserts, replaces and updates reminders as planned, with their transitions.
    /// Returns how many reminders it created.
    private func write(_ plan: IngestPlanner.Plan, _ records: [IngestRecord], on connection: PostgresConnection)
        async throws -> Int
    {
        var idByReminder: [String: Int64] = [:]
        var inserts: [(IngestPlanner.Write, ReminderRow, IngestRecord)] = []
        var replacements: [(Int64, IngestPlanner.Write, ReminderRow, IngestRecord)] = []
        var stateChanges: [(Int64, IngestPlanner.Write)] = []
        for write in plan.writes {
            let source = write.contentFrom.map { records[$0] }
            let row = source.flatMap { record -> ReminderRow? in
                guard case .valid(let event) = record.decoded, case .schedule(let schedule) = event.action else {
                    return nil
                }
                return ReminderRow(event, schedule)
            }
            switch (write.existing, row, source) {
            case (nil, let row?, let source?): inserts.append((write, row, source))
            case (let id?, let row?, let source?): replacements.append((id, write, row, source))
            case (let id?, nil, _): stateChanges.append((id, write))
            default: continue
            }
            if let id = write.existing { idByReminder[write.reminderID] = id }
        }
        if !inserts.isEmpty { try await insertReminders(inserts, on: connection) }
        if !replacements.isEmpty { try await replaceReminders(replacements, on: connection) }
        if !stateChanges.isEmpty {
            let ids = stateChanges.map(\.0)
            let states = stateChanges.map(\.1.finalState.rawValue)
            try await connection.query(
                """
                UPDATE reminders r SET state = u.state, lease_until = NULL, updated_at = now()
                FROM unnest(\(ids)::int8[], \(states)::text[]) AS u(id, state) WHERE r.id = u.id
                """, logger: logger)
        }
        var transitionIDs: [Int64] = []
        var froms: [String] = []
        var tos: [String] = []
        var events: [String] = []
        // The transitions of reminders that existed before the batch.
        for write in plan.writes {
            guard let id = idByReminder[write.reminderID] else { continue }
            for transition in write.transitions {
                transitionIDs.append(id)
                froms.append(transition.from.rawValue)
                tos.append(transition.to.rawValue)
                events.append(transition.event.rawValue)
            }
        }
        if !transitionIDs.isEmpty {
            try await connection.query(
                """
                INSERT INTO reminder_transitions (reminder_id, from_state, to_state, event)
                SELECT * FROM unnest(\(transitionIDs)::int8[], \(froms)::text[], \(tos)::text[], \(events)::text[])
                """, logger: logger)
        }
        return inserts.count
    }

    private struct Columns {
        var reminderIDs: [String] = [], userIDs: [String] = [], states: [String] = [], zones: [String] = []
        var deliverAt: [String] = [], deliverAtLocal: [String] = [], quietStart: [String] = [], quietEnd: [String] = []
        var expiresAt: [String] = [], dueAt: [String] = [], channels: [String] = [], contents: [String] = []
        var correlationIDs: [String] = [], idempotencyKeys: [String] = [], topics: [String] = []
        var partitions: [Int32] = [], offsets: [Int64] = [], hasKey: [Bool] = [], keys: [ByteBuffer] = []
        var values: [ByteBuffer] = []

        mutating func append(_ row: ReminderRow, state: ReminderState, source: IngestRecord) {
            reminderIDs.append(row.reminderID)
            userIDs.append(row.userID)
            states.append(state.rawValue)
            zones.append(row.timeZone)
            deliverAt.append(row.deliverAt)
            deliverAtLocal.append(row.deliverAtLocal)
            quietStart.append(row.quietStart)
            quietEnd.append(row.quietEnd)
            expiresAt.append(row.expiresAt)
            dueAt.append(row.dueAt)
            channels.append(row.channels)
            contents.append(row.content)
            correlationIDs.append(row.correlationID)
            idempotencyKeys.append(row.idempotencyKey)
            topics.append(source.topic)
            partitions.append(source.partition)
            offsets.append(source.offset)
            hasKey.append(source.key != nil)
            keys.append(ByteBuffer(bytes: source.key ?? []))
            values.append(ByteBuffer(bytes: source.value ?? []))
        }
    }

    /// Inserts new reminders and, in the same statement, their transitions (in order).
    private func insertReminders(
        _ inserts: [(IngestPlanner.Write, ReminderRow, IngestRecord)], on connection: PostgresConnection
    ) async throws {
        var c = Columns()
        var transitionReminders: [String] = [], froms: [String] = [], tos: [String] = [], events: [String] = []
        for (write, row, source) in inserts {
            c.append(row, state: write.finalState, source: source)
            for transition in write.transitions {
                transitionReminders.append(write.reminderID)
                froms.append(transition.from.rawValue)
                tos.append(transition.to.rawValue)
                events.append(transition.event.rawValue)
            }
        }
        try await connection.query(
            """
            WITH inserted AS (
            INSERT INTO reminders (reminder_id, user_id, state, time_zone, deliver_at, deliver_at_local, quiet_start,
                quiet_end, expires_at, due_at, channels, content, correlation_id, idempotency_key, source_topic,
                source_partition, source_offset, source_key, source_value)
            SELECT reminder_id, user_id, state, zone, NULLIF(deliver_at, '')::timestamptz,
                NULLIF(deliver_at_local, '')::timestamp, NULLIF(quiet_start, '')::time, NULLIF(quiet_end, '')::time,
                NULLIF(expires_at, '')::timestamptz, NULLIF(due_at, '')::timestamptz, channels::jsonb, content::jsonb,
                NULLIF(correlation_id, ''), idempotency_key, topic, part, off,
                CASE WHEN has_key THEN key END, value
            FROM unnest(\(c.reminderIDs)::text[], \(c.userIDs)::text[], \(c.states)::text[], \(c.zones)::text[],
                \(c.deliverAt)::text[], \(c.deliverAtLocal)::text[], \(c.quietStart)::text[], \(c.quietEnd)::text[],
                \(c.expiresAt)::text[], \(c.dueAt)::text[], \(c.channels)::text[], \(c.contents)::text[],
                \(c.correlationIDs)::text[], \(c.idempotencyKeys)::text[], \(c.topics)::text[], \(c.partitions)::int4[],
                \(c.offsets)::int8[], \(c.hasKey)::bool[], \(c.keys)::bytea[], \(c.values)::bytea[])
              AS t(reminder_id, user_id, state, zone, deliver_at, deliver_at_local, quiet_start, quiet_end, expires_at,
                   due_at, channels, content, correlation_id, idempotency_key, topic, part, off, has_key, key, value)
            RETURNING id, reminder_id)
            INSERT INTO reminder_transitions (reminder_id, from_state, to_state, event)
            SELECT inserted.id, t.from_state, t.to_state, t.event
            FROM unnest(\(transitionReminders)::text[], \(froms)::text[], \(tos)::text[], \(events)::text[])
                WITH ORDINALITY AS t(reminder_id, from_state, to_state, event, ord)
            JOIN inserted ON inserted.reminder_id = t.reminder_id
            ORDER BY t.ord
            """, logger: logger)
    }

    private func replaceReminders(
        _ replacements: [(Int64, IngestPlanner.Write, ReminderRow, IngestRecord)], on connection: PostgresConnection
    ) async throws {
        var c = Columns()
        var ids: [Int64] = []
        for (id, write, row, source) in replacements {
            ids.append(id)
            c.append(row, state: write.finalState, source: source)
        }
        try await connection.query(
            """
            UPDATE reminders r SET user_id = t.user_id, state = t.state, time_zone = t.zone,
                deliver_at = NULLIF(t.deliver_at, '')::timestamptz, deliver_at_local = NULLIF(t.deliver_at_local, '')::timestamp,
                quiet_start = NULLIF(t.quiet_start, '')::time, quiet_end = NULLIF(t.quiet_end, '')::time,
                expires_at = NULLIF(t.expires_at, '')::timestamptz, due_at = NULLIF(t.due_at, '')::timestamptz,
                channels = t.channels::jsonb, content = t.content::jsonb, correlation_id = NULLIF(t.correlation_id, ''),
                idempotency_key = t.idempotency_key, source_topic = t.topic, source_partition = t.part,
                source_offset = t.off, source_key = CASE WHEN t.has_key THEN t.key END, source_value = t.value,
                attempts = 0, lease_until = NULL, updated_at = now()
            FROM unnest(\(ids)::int8[], \(c.userIDs)::text[], \(c.states)::text[], \(c.zones)::text[],
                \(c.deliverAt)::text[], \(c.deliverAtLocal)::text[], \(c.quietStart)::text[], \(c.quietEnd)::text[],
                \(c.expiresAt)::text[], \(c.dueAt)::text[], \(c.channels)::text[], \(c.contents)::text[],
                \(c.correlationIDs)::text[], \(c.idempotencyKeys)::text[], \(c.topics)::text[], \(c.partitions)::int4[],
                \(c.offsets)::int8[], \(c.hasKey)::bool[], \(c.keys)::bytea[], \(c.values)::bytea[])
              AS t(id, user_id, state, zone, deliver_at, deliver_at_local, quiet_start, quiet_end, expires_at,
                   due_at, channels, content, correlation_id, idempotency_key, topic, part, off, has_key, key, value)
            WHERE r.id = t.id
            """, logger: logger)
    }

    private func insertDeadLetters(_ letters: [DeadLetter], on connection: PostgresConnection) async throws {
        guard !letters.isEmpty else { return }
        var reasons: [String] = [], errors: [String] = [], topics: [String] = [], partitions: [Int32] = []
        var offsets: [Int64] = [], hasKey: [Bool] = [], keys: [ByteBuffer] = [], hasValue: [Bool] = []
        var values: [ByteBuffer] = [], headers: [String] = [], idempotencyKeys: [String] = [],
            correlationIDs: [String] = []
        for letter in letters {
            reasons.append(letter.reason)
            errors.append(letter.error)
            topics.append(letter.record.topic)
            partitions.append(letter.record.partition)
            offsets.append(letter.record.offset)
            hasKey.append(letter.record.key != nil)
            keys.append(ByteBuffer(bytes: letter.record.key ?? []))
            hasValue.append(letter.record.value != nil)
            values.append(ByteBuffer(bytes: letter.record.value ?? []))
            headers.append(Self.headersJSON(letter.record.headers))
            idempotencyKeys.append(letter.idempotencyKey)
            correlationIDs.append(letter.correlationID)
        }
        try await connection.query(
            """
            INSERT INTO dead_letters (reason, error, original_topic, original_partition, original_offset, message_key,
                message_value, message_headers, idempotency_key, correlation_id)
            SELECT reason, error, topic, part, off, CASE WHEN has_key THEN key END, CASE WHEN has_value THEN value END,
                headers::jsonb, NULLIF(idempotency_key, ''), NULLIF(correlation_id, '')
            FROM unnest(\(reasons)::text[], \(errors)::text[], \(topics)::text[], \(partitions)::int4[],
                \(offsets)::int8[], \(hasKey)::bool[], \(keys)::bytea[], \(hasValue)::bool[], \(values)::bytea[],
                \(headers)::text[], \(idempotencyKeys)::text[], \(correlationIDs)::text[])
              AS t(reason, error, topic, part, off, has_key, key, has_value, value, headers, idempotency_key, correlation_id)
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    /// `[{"key": "...", "value": "<base64>" | null}]`
    static func headersJSON(_ headers: [IngestRecord.Header]) -> String {
        JSONValue.array(
            headers.map { header in
                .object([
                    ("key", .string(header.key)),
                    ("value", header.value.map { .string(Data($0).base64EncodedString()) } ?? .null),
                ])
            }
        ).serialized
    }
}
