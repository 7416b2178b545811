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
    /// Whether state changes write their status events to the outbox (`STATUS_EVENTS`).
    let statusEvents: Bool
    /// Seals the personal fields of what it writes (`DATA_ENCRYPTION_KEYS`); nil: plaintext.
    let sealer: DataSealer?

    /// About how many bytes of rows a statement that inserts new reminders carries.
    let statementBytes: Int
    /// Where new reminders' status records go once committed, for this instance's status
    /// relay to publish without reading them back (nil: the relay reads them).
    let statusHandOff: StatusHandOff?

    /// `statusHandOff`: this instance's status relay's, when it runs one.
    public init(
        client: PostgresClient, logger: Logger, statusEvents: Bool = true, sealer: DataSealer? = nil,
        statusHandOff: StatusHandOff? = nil
    ) {
        self.init(
            client: client, logger: logger, statusEvents: statusEvents, sealer: sealer, statementBytes: 768 << 10,
            statusHandOff: statusHandOff)
    }

    /// `statementBytes`: about how many bytes of rows one statement that inserts new
    /// reminders carries. One statement for a whole batch of large events was a message of
    /// a hundred megabytes and more, which PostgresNIO then kept as the connection's send
    /// buffer, and PostgreSQL spent 3.5 times the CPU per event on it (issue 19,
    /// `ingest-benchmark --html-bytes 50000`: 2,540 µs against 724 in parts). The default,
    /// 768 KiB of estimated row bytes, kept the ingest benchmark's bind messages under
    /// 1 MiB with the rows' transitions and status records bound alongside. The binding's
    /// and the connection's buffers grow by powers of two, so parts of 1 MiB kept 2 MiB in
    /// each; a batch of 2,500 of those events takes three parts either way.
    init(
        client: PostgresClient, logger: Logger, statusEvents: Bool, sealer: DataSealer?, statementBytes: Int,
        statusHandOff: StatusHandOff? = nil
    ) {
        self.client = client
        self.logger = logger
        self.statusEvents = statusEvents
        self.sealer = sealer
        self.statementBytes = statementBytes
        self.statusHandOff = statusEvents ? statusHandOff : nil
    }

    public func ingest(_ records: [IngestRecord]) async throws(StoreError) -> IngestSummary {
        do {
            // Built only while the relay takes them (it holds the lease and is not behind).
            let handing = statusHandOff?.isOpen == true
            let (summary, handed) = try await client.withTransaction(logger: logger) { connection in
                var handed: [StatusEventStore.Record]? = handing ? [] : nil
                let summary = try await ingest(records, on: connection, handing: &handed)
                return (summary, handed)
            }
            if let handed { statusHandOff?.offer(handed) }
            return summary
        } catch {
            throw StoreError.wrapping(error, operation: "store a batch of \(records.count) messages")
        }
    }

    /// `handing`: when not nil, collects the new reminders' status records for the hand-off.
    private func ingest(
        _ records: [IngestRecord], on connection: PostgresConnection, handing: inout [StatusEventStore.Record]?
    ) async throws -> IngestSummary {
        var summary = IngestSummary()
        var deadLetters: [DeadLetter] = []
        for run in IngestRecord.runs(of: records) {
            if run.replaying {
                try await applyReplays(
                    run.positions, records, on: connection, summary: &summary, deadLetters: &deadLetters)
            } else {
                try await storeEvents(
                    run.positions, records, on: connection, summary: &summary, deadLetters: &deadLetters,
                    handing: &handing)
            }
        }
        try await insertDeadLetters(deadLetters, on: connection)
        return summary
    }

    /// The events at `positions`: inbox, then the reminders they create, replace or
    /// cancel; invalid and conflicting ones become dead letters.
    private func storeEvents(
        _ positions: Range<Int>, _ records: [IngestRecord],
        on connection: PostgresConnection, summary: inout IngestSummary, deadLetters: inout [DeadLetter],
        handing: inout [StatusEventStore.Record]?
    ) async throws {
        let run = EventRun(positions, of: records)
        summary.invalid += run.invalidCount
        summary.duplicates += run.duplicates
        summary.conflicts += run.conflictCount
        for refused in run.refused {
            switch refused {
            case .invalid(let position, let error):
                deadLetters.append(
                    DeadLetter(
                        record: records[position],
                        reason: DeadLetterReason.invalidEvent.rawValue, error: "\(error)", idempotencyKey: nil,
                        correlationID: nil, userID: ReminderEventDecoder.userID(ofInvalid: records[position].value)))
            case .conflict(let input):
                deadLetters.append(Self.conflict(records[input.position], input.event))
            }
        }
        let candidates = run.candidates

        let inputs = try await insertInbox(
            candidates, records, on: connection, summary: &summary, deadLetters: &deadLetters)
        summary.accepted += inputs.count
        if !inputs.isEmpty {
            let stored = try await lockReminders(Array(Set(inputs.map(\.event.reminderID))), on: connection)
            let plan = IngestPlanner.plan(inputs, stored: stored)
            summary.skipped += plan.skipped
            summary.ownershipConflicts += plan.rejected.count
            for rejected in plan.rejected {
                deadLetters.append(
                    DeadLetter(
                        record: records[rejected.position],
                        reason: rejected.reason.rawValue, error: rejected.error,
                        idempotencyKey: rejected.event.idempotencyKey, correlationID: rejected.event.correlationID,
                        userID: rejected.event.userID))
            }
            summary.created += try await write(plan, records, on: connection, handing: &handing)
        }
    }

    private static func conflict(_ record: IngestRecord, _ event: ReminderEvent) -> DeadLetter {
        DeadLetter(
            record: record, reason: DeadLetterReason.idempotencyConflict.rawValue,
            error: "idempotency_key: seen before with a different payload", idempotencyKey: event.idempotencyKey,
            correlationID: event.correlationID, userID: event.userID)
    }

    /// Inserts the candidates' keys; returns the candidates whose key was new. Keys seen
    /// before are duplicates (same payload) or conflicts (another payload).
    private func insertInbox(
        _ candidates: [IngestPlanner.Input], _ records: [IngestRecord],
        on connection: PostgresConnection, summary: inout IngestSummary, deadLetters: inout [DeadLetter]
    ) async throws -> [IngestPlanner.Input] {
        guard !candidates.isEmpty else { return [] }
        let entries = candidates.map { input in
            InboxRow(
                idempotencyKey: input.event.idempotencyKey, payload: records[input.position].value ?? [],
                reminderID: input.event.reminderID, partition: records[input.position].partition,
                offset: records[input.position].offset)
        }
        var binds = PostgresBindings(capacity: InboxRow.columns.count)
        InboxRow.bind(entries, into: &binds)
        let answer = try await connection.query(
            PostgresQuery(unsafeSQL: Self.insertInboxSQL, binds: binds), logger: logger)
        var notInserted: [Int32] = []
        for try await ordinals in answer.decode([Int32]?.self) { notInserted = ordinals ?? [] }
        guard !notInserted.isEmpty else { return candidates }
        var isSeen = [Bool](repeating: false, count: candidates.count)
        for ordinal in notInserted {
            guard ordinal >= 1, ordinal <= candidates.count else {
                throw StoreError(
                    code: .query, operation: "insert the inbox's keys",
                    message: "the insert named entry \(ordinal) of \(candidates.count)")
            }
            isSeen[Int(ordinal) - 1] = true
        }
        let seen = candidates.indices.filter { isSeen[$0] }.map { candidates[$0] }
        // Keys stored before, by an earlier batch or another instance. A conflicting
        // insert waits for the other transaction to end, so its row is committed and
        // this statement's snapshot sees it.
        var seenBinds = PostgresBindings(capacity: InboxRow.columns.count)
        InboxRow.bind(entries.indices.lazy.filter { isSeen[$0] }.map { entries[$0] }, into: &seenBinds)
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: Self.compareWithInboxSQL, binds: seenBinds), logger: logger)
        var samePayload: [String: Bool] = [:]
        for try await (key, same) in rows.decode((String, Bool).self) { samePayload[key] = same }
        for input in seen {
            if samePayload[input.event.idempotencyKey] == true {
                summary.duplicates += 1
            } else {
                summary.conflicts += 1
                deadLetters.append(Self.conflict(records[input.position], input.event))
            }
        }
        return candidates.indices.filter { !isSeen[$0] }.map { candidates[$0] }
    }

    /// Inserts the keys; answers one row: the ordinals (from 1) of the entries whose key
    /// the inbox held already, or null when every key was new. One array rather than a
    /// row for each new key: a batch is mostly new keys.
    private static let insertInboxSQL = """
        WITH t AS (SELECT * FROM \(InboxRow.unnest(bindingFrom: 1, as: "t", ordinality: true))),
        inserted AS (
            INSERT INTO inbox (idempotency_key, payload_sha256, reminder_id, source_partition, source_offset)
            SELECT idempotency_key, payload_sha256, reminder_id, source_partition, source_offset FROM t
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING idempotency_key)
        SELECT array_agg(t.ord::int4 ORDER BY t.ord) FROM t
        WHERE NOT EXISTS (SELECT FROM inserted WHERE inserted.idempotency_key = t.idempotency_key)
        """

    /// Each key, and whether the inbox holds it with the same payload.
    private static let compareWithInboxSQL = """
        SELECT t.idempotency_key, coalesce(inbox.payload_sha256 = t.payload_sha256, false)
        FROM \(InboxRow.unnest(bindingFrom: 1, as: "t"))
        LEFT JOIN inbox ON inbox.idempotency_key = t.idempotency_key
        """

    private func lockReminders(_ reminderIDs: [String], on connection: PostgresConnection) async throws
        -> [String: IngestPlanner.Stored]
    {
        var stored: [String: IngestPlanner.Stored] = [:]
        let rows = try await connection.query(
            """
            SELECT id, reminder_id, state, user_id, pending_change, occurrence, previous_occurrence_at,
                to_char(occurrence_local, '\(unescaped: DispatchStore.localFormat)'), time_zone
            FROM reminders WHERE reminder_id = ANY(\(reminderIDs)) ORDER BY id FOR UPDATE
            """,
            logger: logger)
        for try await (id, reminderID, state, userID, pending, occurrence, previous, local, zone) in rows.decode(
            (Int64, String, String, String, String?, Int32?, Date?, String?, String).self)
        {
            if let state = ReminderState(rawValue: state) {
                stored[reminderID] = IngestPlanner.Stored(
                    id: id, state: state, userID: userID, pending: pending.flatMap(PendingChange.init(rawValue:)),
                    occurrence: occurrence.map(Int.init), previousOccurrenceAt: previous.map(Instant.init),
                    currentOccurrenceAt: local.flatMap(LocalDateTime.init(parsing:)).flatMap {
                        RecurrenceCalculator.wallInstant($0, inZone: zone)
                    })
            }
        }
        return stored
    }

    /// Inserts, replaces and updates reminders as planned, with their transitions.
    /// Returns how many reminders it created; adds their status records to `handing`
    /// when it is not nil.
    private func write(
        _ plan: IngestPlanner.Plan, _ records: [IngestRecord],
        on connection: PostgresConnection, handing: inout [StatusEventStore.Record]?
    ) async throws -> Int {
        // The new reminders' rows are made a part at a time as they are sent
        // (`insertNewReminders`): made all at once they were held, all of them, beside
        // the batch's records until the last part was sent.
        var inserts: [NewReminder] = []
        var replacements: [ReminderRow] = []
        var newTransitions: [IngestTransitionRow] = []
        var laterTransitions: [IngestTransitionRow] = []
        var stateChanges: [ReminderStateChange] = []
        var pendingChanges: [PendingChangeRow] = []
        var pendingReplacements: [ReminderRow] = []
        var newStatuses: [IngestStatusRow] = []
        var laterStatuses: [IngestStatusRow] = []
        var statusIDs = StatusRecordIDs()
        // Where each new reminder's transitions and status events end in theirs, so that
        // the new reminders can be inserted a part at a time with their own.
        var insertEnds: [(transitions: Int, statuses: Int)] = []
        inserts.reserveCapacity(plan.writes.count)
        newTransitions.reserveCapacity(plan.writes.count)
        for write in plan.writes {
            if let pending = write.pending, let id = write.existing {
                // In flight: the change waits on the reminder for the attempt's outcome.
                pendingChanges.append(PendingChangeRow(id: id, change: pending.change))
                if case .replace(let position) = pending, case .valid(let event) = records[position].decoded,
                    case .schedule(let schedule) = event.action
                {
                    pendingReplacements.append(
                        ReminderRow(
                            event, schedule, state: ReminderStateMachine.applied(.replace),
                            source: records[position], continuation: write.continuation))
                }
            } else if let position = write.contentFrom, case .valid(let event) = records[position].decoded,
                case .schedule(let schedule) = event.action
            {
                if write.existing == nil {
                    inserts.append(
                        NewReminder(
                            event: event, schedule: schedule, position: position, state: write.finalState,
                            continuation: write.continuation))
                } else {
                    replacements.append(
                        ReminderRow(
                            event, schedule, state: write.finalState, source: records[position],
                            continuation: write.continuation))
                }
            } else if let id = write.existing {
                stateChanges.append(ReminderStateChange(id: id, state: write.finalState))
            } else {
                continue
            }
            // A new reminder's row records its creation (`insertRemindersSQL`), the
            // first of its transitions: the planner starts every new reminder with it.
            let transitions = write.transitionRows.map {
                IngestTransitionRow(reminderID: write.reminderID, transition: $0)
            }
            if write.existing == nil {
                newTransitions += transitions
            } else {
                laterTransitions += transitions
            }
            if statusEvents {
                let statuses = write.transitions.compactMap(StatusUpdate.ingest).map {
                    IngestStatusRow(id: statusIDs.draw(), reminderID: write.reminderID, update: $0)
                }
                if write.existing == nil {
                    newStatuses += statuses
                } else {
                    laterStatuses += statuses
                }
            }
            if write.existing == nil { insertEnds.append((newTransitions.count, newStatuses.count)) }
        }
        if sealer != nil {
            replacements = replacements.map { $0.sealed(by: sealer) }
            pendingReplacements = pendingReplacements.map { $0.sealed(by: sealer) }
        }
        // New reminders and, in the same statement, the transitions after their creation
        // (a replace or cancel in the same batch) and their status events: these take the
        // new rows from the insert itself, not by looking each reminder up again. A
        // statement carries about `statementBytes` of rows (`ReminderRow.boundBytes`), cut
        // as `StatementParts` cuts them.
        var part: [ReminderRow] = []
        var filling = StatementParts.Filling(limit: statementBytes)
        var partStart = 0
        let newRows = NewRows(transitions: newTransitions, statuses: newStatuses, ends: insertEnds)
        for (index, insert) in inserts.enumerated() {
            let row = ReminderRow(
                insert.event, insert.schedule, state: insert.state, source: records[insert.position],
                continuation: insert.continuation
            ).sealed(by: sealer)
            if filling.add(row.boundBytes) {
                try await insertNewReminders(part, at: partStart, of: newRows, on: connection, handing: &handing)
                part.removeAll(keepingCapacity: true)
                partStart = index
            }
            part.append(row)
        }
        if !part.isEmpty {
            try await insertNewReminders(part, at: partStart, of: newRows, on: connection, handing: &handing)
        }
        try await runInParts(Self.replaceSQL, replacements, on: connection)
        if !inserts.isEmpty || !replacements.isEmpty {
            // Wakes the dispatchers (delivered when the transaction commits, once per
            // transaction): some of these reminders may be due now.
            try await connection.query(
                "SELECT pg_notify(\(DispatchStore.wakeChannel), '')", logger: logger)
        }
        try await run(Self.setPendingSQL, pendingChanges, on: connection)
        try await runInParts(Self.pendingReplacementSQL, pendingReplacements, on: connection)
        try await run(Self.changeStatesSQL, stateChanges, on: connection)
        try await run(Self.insertLaterTransitionsSQL, laterTransitions, on: connection)
        try await run(Self.insertStatusSQL, laterStatuses, on: connection)
        return inserts.count
    }

    /// A new reminder as planned: its row is made when its part of the insert is sent.
    private struct NewReminder {
        let event: ReminderEvent
        let schedule: ReminderSchedule
        /// Its record in the batch.
        let position: Int
        let state: ReminderState
        let continuation: IngestPlanner.Continuation?
    }

    /// The transitions and status events of a batch's new reminders, and where each
    /// reminder's end in them.
    private struct NewRows {
        let transitions: [IngestTransitionRow]
        let statuses: [IngestStatusRow]
        let ends: [(transitions: Int, statuses: Int)]
    }

    /// Inserts `rows`, the new reminders from the `start`th on, with their transitions and
    /// status events (`insertWithStatusSQL`); adds the status records to `handing` when it
    /// is not nil, or sets it to nil when the answer does not match them.
    private func insertNewReminders(
        _ rows: [ReminderRow], at start: Int, of new: NewRows, on connection: PostgresConnection,
        handing: inout [StatusEventStore.Record]?
    ) async throws {
        let end = start + rows.count
        let transitions = (start == 0 ? 0 : new.ends[start - 1].transitions)..<new.ends[end - 1].transitions
        let statuses = (start == 0 ? 0 : new.ends[start - 1].statuses)..<new.ends[end - 1].statuses
        var binds = PostgresBindings(
            capacity: ReminderRow.columns.count + IngestTransitionRow.columns.count + IngestStatusRow.columns.count)
        ReminderRow.bind(rows, into: &binds)
        IngestTransitionRow.bind(new.transitions[transitions], into: &binds)
        if statusEvents { IngestStatusRow.bind(new.statuses[statuses], into: &binds) }
        if handing != nil {
            let answer = try await connection.query(
                PostgresQuery(unsafeSQL: Self.insertWithStatusHandedSQL, binds: binds), logger: logger)
            let handed = try await Self.handed(
                answer, new.statuses[statuses], rows[...], new.ends[start..<end].map(\.statuses))
            // Records that cannot be matched to the rows are left to the relay's scans.
            if let handed { handing?.append(contentsOf: handed) } else { handing = nil }
        } else {
            try await connection.query(
                PostgresQuery(unsafeSQL: statusEvents ? Self.insertWithStatusSQL : Self.insertSQL, binds: binds),
                logger: logger)
        }
    }

    /// Runs `sql` with `rows` bound as its arrays, unless there are none.
    private func run<Row: BatchRow>(
        _ sql: String, _ rows: some Collection<Row>, on connection: PostgresConnection
    ) async throws {
        guard !rows.isEmpty else { return }
        var binds = PostgresBindings(capacity: Row.columns.count)
        Row.bind(rows, into: &binds)
        try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
    }

    /// Runs `sql` for `rows` a part of about `statementBytes` at a time; each row is about
    /// its own reminder, so the parts are independent.
    private func runInParts(_ sql: String, _ rows: [ReminderRow], on connection: PostgresConnection) async throws {
        var start = 0
        for end in ReminderRow.parts(of: rows, bytes: statementBytes) {
            try await run(sql, rows[start..<end], on: connection)
            start = end
        }
    }

    /// New reminders, then their transitions (bound after the reminders' columns).
    private static let insertSQL = """
        WITH inserted AS (\(insertRemindersSQL))
        \(insertNewTransitionsSQL)
        """

    /// New reminders, their transitions, then their status events (bound after the
    /// transitions' columns), as the rows stand once inserted.
    private static let insertWithStatusSQL = """
        \(insertWithTransitionsSQL)
        \(insertNewStatusesSQL)
        """

    /// New reminders and their transitions, as common table expressions.
    private static let insertWithTransitionsSQL = """
        WITH inserted AS (\(insertRemindersSQL)),
        transitions AS (\(insertNewTransitionsSQL))
        """

    private static let insertNewStatusesSQL = statusInsertSQL(
        from: IngestStatusRow.unnest(
            bindingFrom: ReminderRow.columns.count + IngestTransitionRow.columns.count + 1, as: "t", ordinality: true),
        joining: "inserted r ON r.reminder_id = t.reminder_id")

    /// `insertWithStatusSQL`, answering one row: the status records' ids and sequences in
    /// the order they were inserted (a statement draws its sequences in that order), and
    /// the time they were recorded (`at`, the transaction's `now()`: one for all of them)
    /// as the relay's read formats it (`StatusEventStore.UnpublishedStatement`). Nulls
    /// when there are none. Arrays rather than a row for each record, and the one time
    /// formatted once: every new reminder has a record.
    private static let insertWithStatusHandedSQL = """
        \(insertWithTransitionsSQL),
        statuses AS (\(insertNewStatusesSQL) RETURNING id, seq, at)
        SELECT array_agg(id ORDER BY seq), array_agg(seq ORDER BY seq), \(StatusEventStore.utc("min(at)")),
            \(StatusEventStore.utc("max(at)"))
        FROM statuses
        """

    /// The status records whose ids and sequences `insertWithStatusHandedSQL` answered in
    /// `rows` (one row), as the relay would read them: `statuses` in order, the first
    /// `ends[0]` of them about `inserts`' first reminder, up to `ends[1]` its second's…
    /// (`ends` counted from the start of the batch's statuses, as `statuses`' indices are).
    /// A scheduled record's due time is its reminder's, as the insert takes it from the
    /// row. Nil when the answer does not match.
    private static func handed(
        _ rows: PostgresRowSequence, _ statuses: ArraySlice<IngestStatusRow>, _ inserts: ArraySlice<ReminderRow>,
        _ ends: [Int]
    ) async throws -> [StatusEventStore.Record]? {
        var answer: (ids: [UUID], sequences: [Int64], first: String?, last: String?) = ([], [], nil, nil)
        for try await (ids, sequences, first, last) in rows.decode(([UUID]?, [Int64]?, String?, String?).self) {
            answer = (ids ?? [], sequences ?? [], first, last)
        }
        guard answer.ids.count == statuses.count, answer.sequences.count == statuses.count, answer.first == answer.last
        else { return nil }
        guard let at = answer.first else { return statuses.isEmpty ? [] : nil }
        var handed: [StatusEventStore.Record] = []
        handed.reserveCapacity(statuses.count)
        var reminder = inserts.startIndex
        for (offset, position) in statuses.indices.enumerated() {
            while reminder < inserts.endIndex, ends[reminder - inserts.startIndex] <= position { reminder += 1 }
            let status = statuses[position]
            guard reminder < inserts.endIndex, answer.ids[offset] == status.id,
                status.reminderID == inserts[reminder].reminderID
            else { return nil }
            // The row's fields read in place: a copy of the whole row retained all it holds.
            handed.append(
                StatusEventStore.Record(
                    id: status.id, sequence: answer.sequences[offset], type: status.update.kind.rawValue,
                    reminderID: status.reminderID, userID: inserts[reminder].userID,
                    correlationID: inserts[reminder].correlationID,
                    occurrence: inserts[reminder].occurrence.map { Int(Int32(clamping: $0)) }, attempt: 0,
                    channel: nil, provider: nil, willRetry: nil,
                    dueAt: status.update.kind == .scheduled ? inserts[reminder].dueAt?.sixDigitText : nil,
                    reason: nil, error: nil, detail: status.update.detail, at: at))
        }
        return handed
    }

    /// Each new row records the reminder's creation (`ReminderStateMachine.creation`),
    /// with the occurrence it starts with; `reminder_history` shows it.
    private static let insertRemindersSQL = """
        INSERT INTO reminders (\(ReminderRow.columnList), creation_in_row, creation_occurrence)
            SELECT \(ReminderRow.columnList), true, occurrence FROM \(ReminderRow.unnest(bindingFrom: 1, as: "t"))
            RETURNING id, reminder_id, user_id, correlation_id, occurrence, attempts, due_at
        """

    private static let insertNewTransitionsSQL = """
        INSERT INTO reminder_transitions (reminder_id, from_state, to_state, event, detail, occurrence)
        SELECT inserted.id, t.from_state, t.to_state, t.event, t.detail, inserted.occurrence
        FROM \(IngestTransitionRow.unnest(bindingFrom: ReminderRow.columns.count + 1, as: "t", ordinality: true))
        JOIN inserted ON inserted.reminder_id = t.reminder_id
        ORDER BY t.ord
        """

    /// A replacement takes the new schedule whole and starts over: no attempts, no lease.
    /// The rows are locked by `lockReminders`; `reminder_id` is unique.
    private static let replaceSQL = """
        UPDATE reminders r SET \(
            ReminderRow.columns.filter { $0.name != "reminder_id" }.map { "\($0.name) = t.\($0.name)" }
                .joined(separator: ", ")),
            attempts = 0, lease_until = NULL, channel_failures = '{}', channel_status = '', updated_at = now()
        FROM \(ReminderRow.unnest(bindingFrom: 1, as: "t"))
        WHERE r.reminder_id = t.reminder_id
        """

    /// Reminders in flight on which a change now waits; a pending cancel drops a pending
    /// replacement. The rows are locked by `lockReminders`.
    private static let setPendingSQL = """
        WITH changed AS (
            UPDATE reminders r SET pending_change = u.change, updated_at = now()
            FROM \(PendingChangeRow.unnest(bindingFrom: 1, as: "u")) WHERE r.id = u.id
            RETURNING r.id, u.change)
        DELETE FROM pending_replacements p USING changed c
        WHERE p.id = c.id AND c.change = '\(PendingChange.cancel.rawValue)'
        """

    /// The replacements waiting on reminders in flight, a newer one over an older.
    private static let pendingReplacementSQL = """
        INSERT INTO pending_replacements (id, \(ReminderRow.columnList))
        SELECT r.id, \(ReminderRow.columns.map { "t.\($0.name)" }.joined(separator: ", "))
        FROM \(ReminderRow.unnest(bindingFrom: 1, as: "t")) JOIN reminders r ON r.reminder_id = t.reminder_id
        ON CONFLICT (id) DO UPDATE SET \(
            ReminderRow.columns.map { "\($0.name) = excluded.\($0.name)" }.joined(separator: ", ")),
            requested_at = now()
        """

    /// Reminders whose state changes without new content (a cancel).
    private static let changeStatesSQL = """
        UPDATE reminders r SET state = u.state, lease_until = NULL, updated_at = now()
        FROM \(ReminderStateChange.unnest(bindingFrom: 1, as: "u")) WHERE r.id = u.id
        """

    /// The transitions of reminders that existed before the batch.
    private static let insertLaterTransitionsSQL = """
        INSERT INTO reminder_transitions (reminder_id, from_state, to_state, event, detail, occurrence)
        SELECT r.id, t.from_state, t.to_state, t.event, t.detail, r.occurrence
        FROM \(IngestTransitionRow.unnest(bindingFrom: 1, as: "t", ordinality: true))
        JOIN reminders r ON r.reminder_id = t.reminder_id
        ORDER BY t.ord
        """

    /// The status events of changes to reminders that existed before the batch, as the
    /// reminders stand after them.
    private static let insertStatusSQL = statusInsertSQL(
        from: IngestStatusRow.unnest(bindingFrom: 1, as: "t", ordinality: true),
        joining: "reminders r ON r.reminder_id = t.reminder_id")

    /// Status events from the rows of `source` (`IngestStatusRow`s, alias `t`, numbered
    /// `ord`), each completed from its reminder `r` as `joining` finds it.
    private static func statusInsertSQL(from source: String, joining reminders: String) -> String {
        """
        INSERT INTO status_events (id, reminder, reminder_id, user_id, correlation_id, type, occurrence, attempt,
            due_at, detail)
        SELECT t.id, r.id, r.reminder_id, r.user_id, r.correlation_id, t.type, r.occurrence, r.attempts,
            CASE WHEN t.type = '\(StatusUpdate.Kind.scheduled.rawValue)' THEN r.due_at END, t.detail
        FROM \(source)
        JOIN \(reminders)
        ORDER BY t.ord
        """
    }
}

/// A status event of an ingest change: the reminder it is about and what happened.
struct IngestStatusRow: BatchRow {
    /// The record's id (`StatusRecordIDs`).
    let id: UUID
    let reminderID: String
    let update: StatusUpdate

    static let columns: [BoundColumn<IngestStatusRow>] = [
        BoundColumn("id") { $0.id },
        BoundColumn("reminder_id") { $0.reminderID },
        BoundColumn("type") { $0.update.kind.rawValue },
        BoundColumn("detail") { $0.update.detail },
    ]
}
