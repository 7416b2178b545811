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
    let logger: Logger

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

    struct DeadLetter {
        let record: IngestRecord
        let payload: ByteBuffer
        let reason: String
        let error: String
        let idempotencyKey: String
        let correlationID: String
    }

    private func ingest(_ records: [IngestRecord], on connection: PostgresConnection) async throws -> IngestSummary {
        var summary = IngestSummary()
        var deadLetters: [DeadLetter] = []
        // Each message's bytes, copied once for every statement that sends them.
        let payloads = records.map { ByteBuffer(bytes: $0.value ?? []) }
        // Replays and events are applied in the order they came, run by run, as if each
        // run were a batch of its own: a cancel behind a replay of the same reminder
        // must find it reset, wherever the batches happen to split.
        var start = 0
        while start < records.count {
            let replaying = records[start].isReplay
            var end = start + 1
            while end < records.count && records[end].isReplay == replaying { end += 1 }
            if replaying {
                try await applyReplays(
                    start..<end, records, payloads, on: connection, summary: &summary, deadLetters: &deadLetters)
            } else {
                try await storeEvents(
                    start..<end, records, payloads, on: connection, summary: &summary, deadLetters: &deadLetters)
            }
            start = end
        }
        try await insertDeadLetters(deadLetters, on: connection)
        return summary
    }

    /// The events at `positions`: inbox, then the reminders they create, replace or
    /// cancel; invalid and conflicting ones become dead letters.
    private func storeEvents(
        _ positions: Range<Int>, _ records: [IngestRecord], _ payloads: [ByteBuffer],
        on connection: PostgresConnection, summary: inout IngestSummary, deadLetters: inout [DeadLetter]
    ) async throws {
        // First occurrence of each key in the run; later ones compare with it.
        var firstByKey: [String: Int] = [:]
        var candidates: [IngestPlanner.Input] = []
        for position in positions {
            let record = records[position]
            switch record.decoded {
            case .replay:
                continue
            case .invalid(let error):
                summary.invalid += 1
                deadLetters.append(
                    DeadLetter(
                        record: record, payload: payloads[position], reason: DeadLetterReason.invalidEvent.rawValue,
                        error: "\(error)",
                        idempotencyKey: "", correlationID: ""))
            case .valid(let event):
                if let first = firstByKey[event.idempotencyKey] {
                    if records[first].value == record.value {
                        summary.duplicates += 1
                    } else {
                        summary.conflicts += 1
                        deadLetters.append(Self.conflict(record, payloads[position], event))
                    }
                } else {
                    firstByKey[event.idempotencyKey] = position
                    candidates.append(IngestPlanner.Input(position: position, event: event))
                }
            }
        }

        let inputs = try await insertInbox(
            candidates, records, payloads, on: connection, summary: &summary, deadLetters: &deadLetters)
        summary.accepted += inputs.count
        if !inputs.isEmpty {
            let stored = try await lockReminders(Array(Set(inputs.map(\.event.reminderID))), on: connection)
            let plan = IngestPlanner.plan(inputs, stored: stored)
            summary.skipped += plan.skipped
            summary.created += try await write(plan, records, payloads, on: connection)
        }
    }

    private static func conflict(_ record: IngestRecord, _ payload: ByteBuffer, _ event: ReminderEvent) -> DeadLetter {
        DeadLetter(
            record: record, payload: payload, reason: DeadLetterReason.idempotencyConflict.rawValue,
            error: "idempotency_key: seen before with a different payload", idempotencyKey: event.idempotencyKey,
            correlationID: event.correlationID ?? "")
    }

    /// Inserts the candidates' keys; returns the candidates whose key was new. Keys seen
    /// before are duplicates (same payload) or conflicts (another payload).
    private func insertInbox(
        _ candidates: [IngestPlanner.Input], _ records: [IngestRecord], _ payloads: [ByteBuffer],
        on connection: PostgresConnection, summary: inout IngestSummary, deadLetters: inout [DeadLetter]
    ) async throws -> [IngestPlanner.Input] {
        guard !candidates.isEmpty else { return [] }
        var keys: [String] = []
        var values: [ByteBuffer] = []
        var reminderIDs: [String] = []
        var partitions: [Int32] = []
        var offsets: [Int64] = []
        for input in candidates {
            keys.append(input.event.idempotencyKey)
            values.append(payloads[input.position])
            reminderIDs.append(input.event.reminderID)
            partitions.append(records[input.position].partition)
            offsets.append(records[input.position].offset)
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
        var insertedKeys = Set<String>(minimumCapacity: candidates.count)
        for try await key in inserted.decode(String.self) { insertedKeys.insert(key) }
        let seen = candidates.filter { !insertedKeys.contains($0.event.idempotencyKey) }
        guard !seen.isEmpty else { return candidates }
        // Keys stored before, by an earlier batch or another instance. A conflicting
        // insert waits for the other transaction to end, so its row is committed and
        // this statement's snapshot sees it.
        let seenKeys = seen.map(\.event.idempotencyKey)
        let seenValues = seen.map { payloads[$0.position] }
        let rows = try await connection.query(
            """
            SELECT t.key, coalesce(inbox.payload_sha256 = sha256(t.value), false)
            FROM unnest(\(seenKeys)::text[], \(seenValues)::bytea[]) AS t(key, value)
            LEFT JOIN inbox ON inbox.idempotency_key = t.key
            """, logger: logger)
        var samePayload: [String: Bool] = [:]
        for try await (key, same) in rows.decode((String, Bool).self) { samePayload[key] = same }
        for input in seen {
            if samePayload[input.event.idempotencyKey] == true {
                summary.duplicates += 1
            } else {
                summary.conflicts += 1
                deadLetters.append(Self.conflict(records[input.position], payloads[input.position], input.event))
            }
        }
        return candidates.filter { insertedKeys.contains($0.event.idempotencyKey) }
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
    private func write(
        _ plan: IngestPlanner.Plan, _ records: [IngestRecord], _ payloads: [ByteBuffer],
        on connection: PostgresConnection
    ) async throws -> Int {
        var inserts = ReminderColumns()
        var replacements = ReminderColumns()
        var newTransitions = TransitionColumns()
        var laterTransitions = TransitionColumns()
        var stateChanges: [(id: Int64, state: ReminderState)] = []
        for write in plan.writes {
            if let position = write.contentFrom, case .valid(let event) = records[position].decoded,
                case .schedule(let schedule) = event.action
            {
                let row = ReminderRow(event, schedule)
                if write.existing == nil {
                    inserts.append(row, state: write.finalState, source: records[position], payload: payloads[position])
                } else {
                    replacements.append(
                        row, state: write.finalState, source: records[position], payload: payloads[position])
                }
            } else if let id = write.existing {
                stateChanges.append((id, write.finalState))
            } else {
                continue
            }
            if write.existing == nil {
                newTransitions.append(write)
            } else {
                laterTransitions.append(write)
            }
        }
        if inserts.count > 0 {
            // New reminders and, in the same statement, their transitions.
            var binds = inserts.bindings()
            newTransitions.bind(into: &binds)
            try await connection.query(PostgresQuery(unsafeSQL: Self.insertSQL, binds: binds), logger: logger)
        }
        if replacements.count > 0 {
            try await connection.query(
                PostgresQuery(unsafeSQL: Self.replaceSQL, binds: replacements.bindings()), logger: logger)
        }
        if inserts.count > 0 || replacements.count > 0 {
            // Wakes the dispatchers (delivered when the transaction commits, once per
            // transaction): some of these reminders may be due now.
            try await connection.query(
                "SELECT pg_notify(\(DispatchStore.wakeChannel), '')", logger: logger)
        }
        if !stateChanges.isEmpty {
            let ids = stateChanges.map(\.id)
            let states = stateChanges.map(\.state.rawValue)
            try await connection.query(
                """
                UPDATE reminders r SET state = u.state, lease_until = NULL, updated_at = now()
                FROM unnest(\(ids)::int8[], \(states)::text[]) AS u(id, state) WHERE r.id = u.id
                """, logger: logger)
        }
        if laterTransitions.count > 0 {
            // The transitions of reminders that existed before the batch.
            var binds = PostgresBindings()
            laterTransitions.bind(into: &binds)
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO reminder_transitions (reminder_id, from_state, to_state, event)
                        SELECT r.id, t.from_state, t.to_state, t.event
                        FROM \(TransitionColumns.unnest(from: 1)) JOIN reminders r ON r.reminder_id = t.reminder_id
                        ORDER BY t.ord
                        """, binds: binds), logger: logger)
        }
        return inserts.count
    }

    /// The columns of the reminders a batch inserts or replaces, one array per column,
    /// bound as `$1…$22` in the order of `inputs`.
    private struct ReminderColumns {
        var reminderIDs: [String] = [], userIDs: [String] = [], states: [String] = [], zones: [String] = []
        var deliverAt: [String] = [], deliverAtLocal: [String] = [], quietStart: [String] = [], quietEnd: [String] = []
        var expiresAt: [String] = [], dueAt: [String] = [], channels: [String] = [], contents: [String] = []
        var correlationIDs: [String] = [], idempotencyKeys: [String] = [], topics: [String] = []
        var partitions: [Int32] = [], offsets: [Int64] = [], hasKey: [Bool] = [], keys: [ByteBuffer] = []
        var values: [ByteBuffer] = [], traceParents: [String] = [], traceStates: [String] = []

        var count: Int { reminderIDs.count }

        mutating func append(_ row: ReminderRow, state: ReminderState, source: IngestRecord, payload: ByteBuffer) {
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
            values.append(payload)
            traceParents.append(source.trace?.traceParent ?? "")
            traceStates.append(source.trace?.traceState ?? "")
        }

        func bindings() -> PostgresBindings {
            var binds = PostgresBindings(capacity: 26)
            for column in [
                reminderIDs, userIDs, states, zones, deliverAt, deliverAtLocal, quietStart, quietEnd, expiresAt, dueAt,
                channels, contents, correlationIDs, idempotencyKeys, topics,
            ] {
                binds.append(column)
            }
            binds.append(partitions)
            binds.append(offsets)
            binds.append(hasKey)
            binds.append(keys)
            binds.append(values)
            binds.append(traceParents)
            binds.append(traceStates)
            return binds
        }

        /// Each bound array with its type, named as the unnest's columns.
        static let inputs: [(name: String, type: String)] = [
            ("reminder_id", "text"), ("user_id", "text"), ("state", "text"), ("time_zone", "text"),
            ("deliver_at", "text"), ("deliver_at_local", "text"), ("quiet_start", "text"), ("quiet_end", "text"),
            ("expires_at", "text"), ("due_at", "text"), ("channels", "text"), ("content", "text"),
            ("correlation_id", "text"), ("idempotency_key", "text"), ("source_topic", "text"),
            ("source_partition", "int4"), ("source_offset", "int8"), ("has_key", "bool"), ("source_key", "bytea"),
            ("source_value", "bytea"), ("trace_parent", "text"), ("trace_state", "text"),
        ]

        /// Each column of `reminders` a schedule sets, and its value from the unnest `t`.
        static let values: [(column: String, value: String)] = [
            ("reminder_id", "t.reminder_id"), ("user_id", "t.user_id"), ("state", "t.state"),
            ("time_zone", "t.time_zone"), ("deliver_at", "NULLIF(t.deliver_at, '')::timestamptz"),
            ("deliver_at_local", "NULLIF(t.deliver_at_local, '')::timestamp"),
            ("quiet_start", "NULLIF(t.quiet_start, '')::time"), ("quiet_end", "NULLIF(t.quiet_end, '')::time"),
            ("expires_at", "NULLIF(t.expires_at, '')::timestamptz"), ("due_at", "NULLIF(t.due_at, '')::timestamptz"),
            ("channels", "t.channels::jsonb"), ("content", "t.content::jsonb"),
            ("correlation_id", "NULLIF(t.correlation_id, '')"), ("idempotency_key", "t.idempotency_key"),
            ("source_topic", "t.source_topic"), ("source_partition", "t.source_partition"),
            ("source_offset", "t.source_offset"), ("source_key", "CASE WHEN t.has_key THEN t.source_key END"),
            ("source_value", "t.source_value"), ("trace_parent", "NULLIF(t.trace_parent, '')"),
            ("trace_state", "NULLIF(t.trace_state, '')"),
        ]

        static let unnest =
            "unnest(\(inputs.enumerated().map { "$\($0.offset + 1)::\($0.element.type)[]" }.joined(separator: ", "))) "
            + "AS t(\(inputs.map(\.name).joined(separator: ", ")))"
    }

    /// The transitions of a batch's writes, in order, by the publisher's reminder id.
    private struct TransitionColumns {
        var reminderIDs: [String] = [], froms: [String] = [], tos: [String] = [], events: [String] = []

        var count: Int { reminderIDs.count }

        mutating func append(_ write: IngestPlanner.Write) {
            for transition in write.transitions {
                reminderIDs.append(write.reminderID)
                froms.append(transition.from.rawValue)
                tos.append(transition.to.rawValue)
                events.append(transition.event.rawValue)
            }
        }

        func bind(into binds: inout PostgresBindings) {
            for column in [reminderIDs, froms, tos, events] { binds.append(column) }
        }

        /// The four arrays from bind `$first` on, as `t` with an ordinal `ord`.
        static func unnest(from first: Int) -> String {
            "unnest($\(first)::text[], $\(first + 1)::text[], $\(first + 2)::text[], $\(first + 3)::text[]) "
                + "WITH ORDINALITY AS t(reminder_id, from_state, to_state, event, ord)"
        }
    }

    private static let insertSQL = """
        WITH inserted AS (
            INSERT INTO reminders (\(ReminderColumns.values.map(\.column).joined(separator: ", ")))
            SELECT \(ReminderColumns.values.map(\.value).joined(separator: ", "))
            FROM \(ReminderColumns.unnest)
            RETURNING id, reminder_id)
        INSERT INTO reminder_transitions (reminder_id, from_state, to_state, event)
        SELECT inserted.id, t.from_state, t.to_state, t.event
        FROM \(TransitionColumns.unnest(from: ReminderColumns.inputs.count + 1))
        JOIN inserted ON inserted.reminder_id = t.reminder_id
        ORDER BY t.ord
        """

    /// A replacement takes the new schedule whole and starts over: no attempts, no lease.
    /// The rows are locked by `lockReminders`; `reminder_id` is unique.
    private static let replaceSQL = """
        UPDATE reminders r SET \(ReminderColumns.values.dropFirst().map { "\($0.column) = \($0.value)" }.joined(separator: ", ")),
            attempts = 0, lease_until = NULL, channel_failures = '{}', channel_status = '', updated_at = now()
        FROM \(ReminderColumns.unnest)
        WHERE r.reminder_id = t.reminder_id
        """

    func insertDeadLetters(_ letters: [DeadLetter], on connection: PostgresConnection) async throws {
        guard !letters.isEmpty else { return }
        var reasons: [String] = [], errors: [String] = [], topics: [String] = [], partitions: [Int32] = []
        var offsets: [Int64] = [], hasKey: [Bool] = [], keys: [ByteBuffer] = [], hasValue: [Bool] = []
        var values: [ByteBuffer] = [], headers: [String] = [], idempotencyKeys: [String] = [],
            correlationIDs: [String] = [], traceParents: [String] = [], traceStates: [String] = []
        for letter in letters {
            reasons.append(letter.reason)
            errors.append(letter.error)
            topics.append(letter.record.topic)
            partitions.append(letter.record.partition)
            offsets.append(letter.record.offset)
            hasKey.append(letter.record.key != nil)
            keys.append(ByteBuffer(bytes: letter.record.key ?? []))
            hasValue.append(letter.record.value != nil)
            values.append(letter.payload)
            headers.append(Self.headersJSON(letter.record.headers))
            idempotencyKeys.append(letter.idempotencyKey)
            correlationIDs.append(letter.correlationID)
            traceParents.append(letter.record.trace?.traceParent ?? "")
            traceStates.append(letter.record.trace?.traceState ?? "")
        }
        try await connection.query(
            """
            INSERT INTO dead_letters (reason, error, original_topic, original_partition, original_offset, message_key,
                message_value, message_headers, idempotency_key, correlation_id, trace_parent, trace_state)
            SELECT reason, error, topic, part, off, CASE WHEN has_key THEN key END, CASE WHEN has_value THEN value END,
                headers::jsonb, NULLIF(idempotency_key, ''), NULLIF(correlation_id, ''), NULLIF(trace_parent, ''),
                NULLIF(trace_state, '')
            FROM unnest(\(reasons)::text[], \(errors)::text[], \(topics)::text[], \(partitions)::int4[],
                \(offsets)::int8[], \(hasKey)::bool[], \(keys)::bytea[], \(hasValue)::bool[], \(values)::bytea[],
                \(headers)::text[], \(idempotencyKeys)::text[], \(correlationIDs)::text[], \(traceParents)::text[],
                \(traceStates)::text[])
              AS t(reason, error, topic, part, off, has_key, key, has_value, value, headers, idempotency_key, correlation_id,
                trace_parent, trace_state)
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
