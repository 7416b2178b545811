import Foundation
import PostgresNIO
import ReminderCore

extension DispatchStore {
    /// How a claimed reminder's delivery attempt ended, to be recorded.
    public struct Completion: Sendable, Equatable {
        /// How the attempt ended; `CompletionPlanner` decides what that does to the reminder.
        public typealias Result = CompletionPlanner.Outcome

        public let id: Int64
        /// The attempt number of the claim: a completion whose claim has since expired
        /// and been taken by another dispatcher does not match and is not recorded.
        public let attempt: Int
        public let result: Result
        public let progress: ChannelProgress
        /// The last failure's class, for the transition history.
        public let errorClass: String?
        public let channelAttempts: [ChannelAttempt]
        /// A one-off reminder, or a recurring one with the occurrence that follows.
        public let series: CompletionPlanner.Series
        /// The attempt's occurrence (its number and wall-clock instant); nil for a reminder
        /// that never recurred.
        public let occurrence: Int?
        public let occurrenceAt: Instant?

        public init(
            id: Int64, attempt: Int, result: Result, progress: ChannelProgress, errorClass: String?,
            channelAttempts: [ChannelAttempt], series: CompletionPlanner.Series = .oneOff, occurrence: Int? = nil,
            occurrenceAt: Instant? = nil
        ) {
            self.id = id
            self.attempt = attempt
            self.result = result
            self.progress = progress
            self.errorClass = errorClass
            self.channelAttempts = channelAttempts
            self.series = series
            self.occurrence = occurrence
            self.occurrenceAt = occurrenceAt
        }
    }

    /// Records the completions, each as `CompletionPlanner` decided it: the reminder's new
    /// state (with its next due time for a retry, and a dead-letter record in the outbox for
    /// a dead letter), its transitions and channel attempts. Only reminders still in the
    /// claim's state under the same claim are changed; returns the ids that were not (their
    /// lease ran out and another dispatcher took them).
    ///
    /// One statement records them all as planned without a pending change. A reminder on
    /// which a cancel or replace now waits does not match that plan: it is planned again
    /// with the change it holds and recorded in a second statement (a change that arrives
    /// in between makes a third, and so on, a few times at most).
    @discardableResult
    public func complete(_ completions: [Completion]) async throws(StoreError) -> CompletionReport {
        guard !completions.isEmpty else { return CompletionReport() }
        do {
            return try await record(completions.sorted { $0.id < $1.id }.map { PlannedCompletion($0, pending: nil) })
        } catch {
            throw StoreError.wrapping(error, operation: "record \(completions.count) delivery attempts")
        }
    }

    /// Reminders whose lease ran out in flight with a change waiting on them: nobody
    /// recorded an acceptance, so the change applies without another send
    /// (`CompletionPlanner.abandoned`). Returns how many were resolved.
    @discardableResult
    func resolveAbandonedChanges(limit: Int) async throws -> Int {
        let rows = try await client.query(
            """
            SELECT id, attempts, pending_change, channel_failures, channel_status, occurrence FROM reminders
            WHERE state = \(unescaped: Self.claimTarget) AND lease_until <= now() AND pending_change IS NOT NULL
            ORDER BY lease_until LIMIT \(Int64(limit))
            """, logger: logger)
        var abandoned: [PlannedCompletion] = []
        for try await (id, attempts, pending, failures, status, occurrence) in rows.decode(
            (Int64, Int32, String, [Int32], String, Int32?).self)
        {
            guard let pending = PendingChange(rawValue: pending) else { continue }
            abandoned.append(
                PlannedCompletion(
                    id: id, attempt: Int(attempts), result: nil, plan: CompletionPlanner.abandoned(pending: pending),
                    progress: ChannelProgress(
                        channelCount: status.count, failures: failures.map(Int.init), statuses: status),
                    errorClass: nil, channelAttempts: [], series: .oneOff, occurrence: occurrence.map(Int.init),
                    occurrenceAt: nil))
        }
        guard !abandoned.isEmpty else { return 0 }
        return abandoned.count - (try await record(abandoned)).notRecorded.count
    }

    /// Writes the planned completions; those whose reminder holds another pending change
    /// than planned are planned again with it.
    private func record(_ planned: [PlannedCompletion]) async throws -> CompletionReport {
        var planned = planned
        var report = CompletionReport()
        for _ in 0..<4 where !planned.isEmpty {
            let missed = try await write(planned)
            for completion in planned where !missed.contains(completion.id) {
                if let change = completion.plan.expectedPending, completion.plan.final != .delivered {
                    report.changed[completion.id] = change
                }
            }
            guard !missed.isEmpty else { return report }
            let current = try await claims(Array(missed))
            var again: [PlannedCompletion] = []
            for completion in planned where missed.contains(completion.id) {
                guard let now = current[completion.id], now.state == completion.plan.expected,
                    now.attempts == completion.attempt, now.occurrence == completion.occurrence,
                    now.pending != completion.plan.expectedPending,
                    let replanned = completion.replanned(pending: now.pending)
                else {
                    report.notRecorded.insert(completion.id)
                    continue
                }
                again.append(replanned)
            }
            planned = again
        }
        report.notRecorded.formUnion(planned.map(\.id))
        return report
    }

    /// Where the reminders stand now: state, claim (attempt and occurrence) and pending change.
    private func claims(_ ids: [Int64]) async throws -> [Int64: (
        state: ReminderState?, attempts: Int, occurrence: Int?, pending: PendingChange?
    )] {
        let rows = try await client.query(
            "SELECT id, state, attempts, occurrence, pending_change FROM reminders WHERE id = ANY(\(ids))",
            logger: logger)
        var found: [Int64: (state: ReminderState?, attempts: Int, occurrence: Int?, pending: PendingChange?)] = [:]
        for try await (id, state, attempts, occurrence, pending) in rows.decode(
            (Int64, String, Int32, Int32?, String?).self)
        {
            found[id] = (
                ReminderState(rawValue: state), Int(attempts), occurrence.map(Int.init),
                pending.flatMap(PendingChange.init(rawValue:))
            )
        }
        return found
    }

    /// One statement: returns the ids that did not match their plan's expectations.
    private func write(_ planned: [PlannedCompletion]) async throws -> Set<Int64> {
        var outcomes: [CompletionRow] = []
        var steps: [CompletionStepRow] = []
        var attempts: [ChannelAttemptRow] = []
        var statuses: [CompletionStatusRow] = []
        var statusIDs = StatusRecordIDs()
        outcomes.reserveCapacity(planned.count)
        for completion in planned {
            outcomes.append(CompletionRow(completion))
            for step in completion.plan.steps {
                steps.append(CompletionStepRow(id: completion.id, step: step, errorClass: completion.errorClass))
            }
            if statusEvents {
                statuses += completion.plan.statuses.map {
                    CompletionStatusRow(completion, $0, recordID: statusIDs.draw())
                }
            }
            for (position, channelAttempt) in completion.channelAttempts.enumerated() {
                attempts.append(
                    ChannelAttemptRow(
                        id: completion.id, attempt: completion.attempt, channelAttempt: channelAttempt,
                        // The retry delay belongs to the last channel tried: its failure chose it.
                        choseTheWait: position == completion.channelAttempts.count - 1))
            }
        }
        var binds = PostgresBindings(
            capacity: CompletionRow.columns.count + CompletionStepRow.columns.count + ChannelAttemptRow.columns.count
                + CompletionStatusRow.columns.count)
        CompletionRow.bind(outcomes, into: &binds)
        CompletionStepRow.bind(steps, into: &binds)
        ChannelAttemptRow.bind(attempts, into: &binds)
        CompletionStatusRow.bind(statuses, into: &binds)
        var recorded = Set<Int64>()
        try await client.execute(CompletionStatement.self, binds, logger: logger) {
            recorded.insert(try $0.decode(Int64.self))
        }
        return Set(outcomes.map(\.id)).subtracting(recorded)
    }

    /// The columns a pending replacement sets when it applies: those of a schedule but the
    /// reminder id (the same), the state (the plan's) and the due time (set with the rest
    /// of the completion).
    private static let replacedColumns = ReminderRow.columns.map(\.name).filter {
        !["reminder_id", "state", "due_at"].contains($0) && !occurrenceColumns.keys.contains($0)
    }

    /// The columns that say where a series stands: a replacement sets them, the next
    /// occurrence (`i.next_*`, `i.done_at`) moves them on, anything else keeps them.
    private static let occurrenceColumns = [
        "occurrence": "i.next_occurrence", "occurrence_index": "i.next_index", "occurrence_local": "i.next_local",
        "previous_occurrence_at": "i.done_at",
    ]

    private static let completeSQL = """
        WITH input AS (
            SELECT * FROM \(CompletionRow.unnest(bindingFrom: 1, as: "t"))),
        updated AS (
            UPDATE reminders r SET state = i.final,
                due_at = CASE WHEN i.replace THEN p.due_at WHEN i.next_occurrence IS NOT NULL THEN i.next_due
                    ELSE coalesce(now() + i.delay_ms * interval '1 millisecond', r.due_at) END,
                lease_until = NULL, pending_change = NULL,
                channel_failures = CASE WHEN i.replace OR i.next_occurrence IS NOT NULL THEN '{}'
                    ELSE i.failures::int4[] END,
                channel_status = CASE WHEN i.replace OR i.next_occurrence IS NOT NULL THEN '' ELSE i.status END,
                attempts = CASE WHEN i.replace OR i.next_occurrence IS NOT NULL THEN 0 ELSE r.attempts END,
                \(replacedColumns.map { "\($0) = CASE WHEN i.replace THEN p.\($0) ELSE r.\($0) END" }
                    .joined(separator: ",\n            ")),
                \(occurrenceColumns.sorted { $0.key < $1.key }.map {
                    "\($0.key) = CASE WHEN i.replace THEN p.\($0.key) WHEN i.next_occurrence IS NOT NULL THEN \($0.value) "
                        + "ELSE r.\($0.key) END"
                }.joined(separator: ",\n            ")),
                updated_at = now()
            FROM input i LEFT JOIN pending_replacements p ON p.id = i.id
            WHERE r.id = i.id AND r.state = i.expected AND r.attempts = i.attempt
                AND r.occurrence IS NOT DISTINCT FROM i.occurrence AND r.pending_change IS NOT DISTINCT FROM i.pending AND (NOT i.replace OR p.id IS NOT NULL)
            RETURNING r.id, i.attempt AS attempts, i.pending, i.delay_ms, i.reason, i.error,
                r.idempotency_key, r.correlation_id, r.source_topic, r.source_partition, r.source_offset,
                r.source_key, r.source_value, r.trace_parent, r.trace_state, r.reminder_id, r.user_id,
                r.occurrence, i.occurrence AS done_occurrence, r.due_at, r.sealed_with),
        history AS (
            INSERT INTO reminder_transitions (reminder_id, from_state, to_state, event, attempt, error_class, detail,
                occurrence)
            SELECT u.id, s.from_state, s.to_state, s.event, u.attempts, s.error_class, s.detail,
                CASE WHEN s.leads_on THEN u.occurrence ELSE u.done_occurrence END
            FROM \(CompletionStepRow.unnest(bindingFrom: CompletionRow.columns.count + 1, as: "s", ordinality: true))
            JOIN updated u ON u.id = s.id
            ORDER BY s.ord),
        letters AS (
            INSERT INTO dead_letters (reason, error, attempts, original_topic, original_partition,
                original_offset, message_key, message_value, idempotency_key, correlation_id, reminder_id,
                trace_parent, trace_state, user_id, sealed_with)
            SELECT u.reason, u.error, u.attempts, u.source_topic, u.source_partition, u.source_offset,
                u.source_key, u.source_value, u.idempotency_key, u.correlation_id, u.id, u.trace_parent,
                u.trace_state, u.user_id, u.sealed_with
            FROM updated u WHERE u.reason IS NOT NULL),
        applied AS (
            DELETE FROM pending_replacements d USING updated u WHERE d.id = u.id AND u.pending IS NOT NULL),
        channel_attempts AS (
            INSERT INTO delivery_attempts (reminder_id, attempt, channel_index, channel, provider, outcome,
                error_class, answer, latency_ms, retry_delay_ms, occurrence)
            SELECT a.id, a.attempt, a.channel_index, a.channel, a.provider, a.outcome, a.error_class,
                a.answer, a.latency_ms, CASE WHEN a.chose_the_wait THEN u.delay_ms END, u.done_occurrence
            FROM \(ChannelAttemptRow.unnest(
                bindingFrom: CompletionRow.columns.count + CompletionStepRow.columns.count + 1, as: "a",
                ordinality: true))
            JOIN updated u ON u.id = a.id
            ORDER BY a.ord),
        statuses AS (
            INSERT INTO status_events (id, reminder, reminder_id, user_id, correlation_id, type, occurrence, attempt,
                channel, provider, will_retry, due_at, reason, error, detail)
            SELECT st.record_id, u.id, u.reminder_id, u.user_id, u.correlation_id, st.type,
                CASE WHEN st.leads_on THEN u.occurrence ELSE u.done_occurrence END,
                CASE WHEN st.leads_on THEN 0 ELSE u.attempts END, st.channel, st.provider, st.will_retry,
                CASE WHEN st.type = '\(StatusUpdate.Kind.scheduled.rawValue)' OR st.will_retry THEN u.due_at END,
                st.reason, st.error, st.detail
            FROM \(CompletionStatusRow.unnest(
                bindingFrom: CompletionRow.columns.count + CompletionStepRow.columns.count
                    + ChannelAttemptRow.columns.count + 1, as: "st", ordinality: true))
            JOIN updated u ON u.id = st.id
            ORDER BY st.ord)
        SELECT id FROM updated
        """
}

extension DispatchStore {
    /// The outcomes' statement, prepared once per connection (`PreparedSQL`).
    enum CompletionStatement: PreparedSQL {
        static let name = preparedName(sql)
        static let sql = completeSQL
    }
}

/// A completion with the plan `CompletionPlanner` made for it (for the pending change
/// it was planned with).
private struct PlannedCompletion {
    let id: Int64
    let attempt: Int
    /// How the attempt ended; nil for an attempt abandoned in flight (lease ran out).
    let result: CompletionPlanner.Outcome?
    let plan: CompletionPlanner.Plan
    let progress: ChannelProgress
    let errorClass: String?
    let channelAttempts: [ChannelAttempt]
    let series: CompletionPlanner.Series
    let occurrence: Int?
    let occurrenceAt: Instant?

    init(
        id: Int64, attempt: Int, result: CompletionPlanner.Outcome?, plan: CompletionPlanner.Plan,
        progress: ChannelProgress, errorClass: String?, channelAttempts: [ChannelAttempt],
        series: CompletionPlanner.Series, occurrence: Int?, occurrenceAt: Instant?
    ) {
        self.id = id
        self.attempt = attempt
        self.result = result
        self.plan = plan
        self.progress = progress
        self.errorClass = errorClass
        self.channelAttempts = channelAttempts
        self.series = series
        self.occurrence = occurrence
        self.occurrenceAt = occurrenceAt
    }

    init(_ completion: DispatchStore.Completion, pending: PendingChange?) {
        self.init(
            id: completion.id, attempt: completion.attempt, result: completion.result,
            plan: CompletionPlanner.plan(completion.result, pending: pending, series: completion.series),
            progress: completion.progress, errorClass: completion.errorClass,
            channelAttempts: completion.channelAttempts, series: completion.series,
            occurrence: completion.occurrence, occurrenceAt: completion.occurrenceAt)
    }

    /// The same completion planned for `pending`; nil when that cannot be planned (an
    /// abandoned attempt whose change is no longer pending is claimed again instead).
    func replanned(pending: PendingChange?) -> PlannedCompletion? {
        let plan: CompletionPlanner.Plan
        if let result {
            plan = CompletionPlanner.plan(result, pending: pending, series: series)
        } else if let pending {
            plan = CompletionPlanner.abandoned(pending: pending)
        } else {
            return nil
        }
        return PlannedCompletion(
            id: id, attempt: attempt, result: result, plan: plan, progress: progress, errorClass: errorClass,
            channelAttempts: channelAttempts, series: series, occurrence: occurrence, occurrenceAt: occurrenceAt)
    }
}

/// A completion as planned: the state and pending change the claim must still have, the
/// state it goes to, when it is due again (none: it keeps its due time), the dead letter it
/// becomes (none: not a dead letter), whether a pending replacement applies, and where
/// each channel stands.
private struct CompletionRow: BatchRow {
    let id: Int64
    let attempt: Int32
    let expected: ReminderState
    let pending: PendingChange?
    let final: ReminderState
    let replace: Bool
    let retryDelayMilliseconds: Int64?
    let deadLetterReason: DeadLetterReason?
    let deadLetterError: String?
    /// `ChannelProgress.failures` as an `int4[]` literal: an array per row does not unnest.
    let failures: String
    let statusCodes: String
    /// The attempt's occurrence, and the one the series moves on to (none: it stays).
    let occurrence: Int32?
    let next: RecurrenceCalculator.Scheduled?
    let doneAt: Instant?

    init(_ completion: PlannedCompletion) {
        let plan = completion.plan
        occurrence = completion.occurrence.map { Int32(clamping: $0) }
        next = plan.next
        doneAt = plan.next == nil ? nil : completion.occurrenceAt
        id = completion.id
        attempt = Int32(clamping: completion.attempt)
        expected = plan.expected
        pending = plan.expectedPending
        final = plan.final
        replace = plan.appliesReplacement
        retryDelayMilliseconds = plan.retryAfter?.wholeMilliseconds
        deadLetterReason = plan.deadLetter
        if case .deadLetter(_, let error)? = completion.result {
            deadLetterError = error
        } else {
            deadLetterError = nil
        }
        failures = "{" + completion.progress.failures.map(String.init).joined(separator: ",") + "}"
        statusCodes = completion.progress.statusCodes
    }

    static let columns: [BoundColumn<CompletionRow>] = [
        BoundColumn("id") { $0.id },
        BoundColumn("attempt") { $0.attempt },
        BoundColumn("expected") { $0.expected.rawValue },
        BoundColumn("pending") { $0.pending?.rawValue },
        BoundColumn("final") { $0.final.rawValue },
        BoundColumn("replace") { $0.replace },
        BoundColumn("delay_ms") { $0.retryDelayMilliseconds },
        BoundColumn("reason") { $0.deadLetterReason?.rawValue },
        BoundColumn("error") { $0.deadLetterError },
        BoundColumn("failures") { $0.failures },
        BoundColumn("status") { $0.statusCodes },
        BoundColumn("occurrence") { $0.occurrence },
        BoundColumn("next_occurrence") { $0.next.map { Int32(clamping: $0.occurrence.number) } },
        BoundColumn("next_index") { $0.next.map { Int32(clamping: $0.occurrence.index) } },
        BoundColumn("next_local") { $0.next?.occurrence.local },
        BoundColumn("next_due") { $0.next?.dueAt },
        BoundColumn("done_at") { $0.doneAt },
    ]
}

/// A transition of a completed reminder, with the class of the attempt's last failure.
private struct CompletionStepRow: BatchRow {
    let id: Int64
    let step: ReminderTransition
    let errorClass: String?

    static let columns: [BoundColumn<CompletionStepRow>] = [
        BoundColumn("id") { $0.id },
        BoundColumn("from_state") { $0.step.from.rawValue },
        BoundColumn("to_state") { $0.step.to.rawValue },
        BoundColumn("event") { $0.step.event.rawValue },
        BoundColumn("detail") { $0.step.detail },
        BoundColumn("error_class") { $0.errorClass.nonEmpty },
        BoundColumn("leads_on") { $0.leadsOn },
    ]

    /// Whether the step belongs to the occurrence the reminder moves on to (the series'
    /// next, or a replacement's first) rather than the attempt's.
    var leadsOn: Bool {
        step.event == .recur || (step.event == .replace && step.to != step.from)
    }
}

/// A status event of a completion, with the channel it concerns (the delivering one, or
/// the last one tried).
private struct CompletionStatusRow: BatchRow {
    let id: Int64
    /// The status record's own id (`StatusRecordIDs`).
    let recordID: UUID
    let update: StatusUpdate
    let channel: ChannelAttempt?
    let error: String?

    init(_ completion: PlannedCompletion, _ update: StatusUpdate, recordID: UUID) {
        id = completion.id
        self.recordID = recordID
        self.update = update
        switch update.kind {
        case .delivered: channel = completion.channelAttempts.last { $0.outcome == .delivered }
        case .attemptFailed: channel = completion.channelAttempts.last
        default: channel = nil
        }
        if update.reason != nil, case .deadLetter(_, let error)? = completion.result {
            self.error = error
        } else {
            self.error = nil
        }
    }

    static let columns: [BoundColumn<CompletionStatusRow>] = [
        BoundColumn("id") { $0.id },
        BoundColumn("record_id") { $0.recordID },
        BoundColumn("type") { $0.update.kind.rawValue },
        BoundColumn("leads_on") { $0.update.occurrence == .next },
        BoundColumn("channel") { $0.channel?.channel },
        BoundColumn("provider") { $0.channel?.provider },
        BoundColumn("will_retry") { $0.update.willRetry },
        BoundColumn("reason") { $0.update.reason?.rawValue },
        BoundColumn("error") { $0.error },
        BoundColumn("detail") { $0.update.detail },
    ]
}

/// A channel tried in a delivery attempt: one row of `delivery_attempts`.
private struct ChannelAttemptRow: BatchRow {
    let id: Int64
    let attempt: Int
    let channelAttempt: ChannelAttempt
    /// Whether its failure chose the retry's wait (the last channel tried).
    let choseTheWait: Bool

    static let columns: [BoundColumn<ChannelAttemptRow>] = [
        BoundColumn("id") { $0.id },
        BoundColumn("attempt") { Int32(clamping: $0.attempt) },
        BoundColumn("channel_index") { Int32(clamping: $0.channelAttempt.channelIndex) },
        BoundColumn("channel") { $0.channelAttempt.channel },
        BoundColumn("provider") { $0.channelAttempt.provider },
        BoundColumn("outcome") { $0.channelAttempt.outcome.rawValue },
        BoundColumn("error_class") { $0.channelAttempt.errorClass.nonEmpty },
        BoundColumn("answer") { $0.channelAttempt.answer },
        BoundColumn("latency_ms") { $0.channelAttempt.latency.inSeconds * 1_000 },
        BoundColumn("chose_the_wait") { $0.choseTheWait },
    ]
}

extension Optional<String> {
    /// nil for nil and for the empty string: a provider that answered with an empty error
    /// code has no class, stored as NULL.
    fileprivate var nonEmpty: String? { self.flatMap { $0.isEmpty ? nil : $0 } }
}
