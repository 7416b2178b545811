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

        public init(
            id: Int64, attempt: Int, result: Result, progress: ChannelProgress, errorClass: String?,
            channelAttempts: [ChannelAttempt]
        ) {
            self.id = id
            self.attempt = attempt
            self.result = result
            self.progress = progress
            self.errorClass = errorClass
            self.channelAttempts = channelAttempts
        }
    }

    /// Records the completions in one statement, each as `CompletionPlanner` decided it:
    /// the reminder's new state (with its next due time for a retry, and a dead-letter
    /// record in the outbox for a dead letter), its transitions and channel attempts. Only
    /// reminders still in the claim's state under the same claim are changed; returns the
    /// ids that were not (their lease ran out and another dispatcher took them).
    @discardableResult
    public func complete(_ completions: [Completion]) async throws(StoreError) -> Set<Int64> {
        guard !completions.isEmpty else { return [] }
        var outcomes: [CompletionRow] = []
        var steps: [CompletionStepRow] = []
        var attempts: [ChannelAttemptRow] = []
        outcomes.reserveCapacity(completions.count)
        for completion in completions {
            let plan = CompletionPlanner.plan(completion.result)
            outcomes.append(CompletionRow(completion, plan))
            for step in plan.steps {
                steps.append(CompletionStepRow(id: completion.id, step: step, errorClass: completion.errorClass))
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
            capacity: CompletionRow.columns.count + CompletionStepRow.columns.count + ChannelAttemptRow.columns.count)
        CompletionRow.bind(outcomes, into: &binds)
        CompletionStepRow.bind(steps, into: &binds)
        ChannelAttemptRow.bind(attempts, into: &binds)
        do {
            let rows = try await client.query(PostgresQuery(unsafeSQL: Self.completeSQL, binds: binds), logger: logger)
            var recorded = Set<Int64>()
            for try await id in rows.decode(Int64.self) { recorded.insert(id) }
            return Set(outcomes.map(\.id)).subtracting(recorded)
        } catch {
            throw StoreError.wrapping(error, operation: "record \(completions.count) delivery attempts")
        }
    }

    private static let completeSQL = """
        WITH input AS (
            SELECT * FROM \(CompletionRow.unnest(bindingFrom: 1, as: "t"))),
        updated AS (
            UPDATE reminders r SET state = i.final,
                due_at = coalesce(now() + i.delay_ms * interval '1 millisecond', r.due_at),
                lease_until = NULL, channel_failures = i.failures::int4[], channel_status = i.status,
                updated_at = now()
            FROM input i
            WHERE r.id = i.id AND r.state = i.expected AND r.attempts = i.attempt
            RETURNING r.id, r.attempts, i.delay_ms, i.reason, i.error,
                r.idempotency_key, r.correlation_id, r.source_topic, r.source_partition, r.source_offset,
                r.source_key, r.source_value, r.trace_parent, r.trace_state),
        history AS (
            INSERT INTO reminder_transitions (reminder_id, from_state, to_state, event, attempt, error_class, detail)
            SELECT u.id, s.from_state, s.to_state, s.event, u.attempts, s.error_class, s.detail
            FROM \(CompletionStepRow.unnest(bindingFrom: CompletionRow.columns.count + 1, as: "s", ordinality: true))
            JOIN updated u ON u.id = s.id
            ORDER BY s.ord),
        letters AS (
            INSERT INTO dead_letters (reason, error, attempts, original_topic, original_partition,
                original_offset, message_key, message_value, idempotency_key, correlation_id, reminder_id,
                trace_parent, trace_state)
            SELECT u.reason, u.error, u.attempts, u.source_topic, u.source_partition, u.source_offset,
                u.source_key, u.source_value, u.idempotency_key, u.correlation_id, u.id, u.trace_parent,
                u.trace_state
            FROM updated u WHERE u.reason IS NOT NULL),
        channel_attempts AS (
            INSERT INTO delivery_attempts (reminder_id, attempt, channel_index, channel, provider, outcome,
                error_class, answer, latency_ms, retry_delay_ms)
            SELECT a.id, a.attempt, a.channel_index, a.channel, a.provider, a.outcome, a.error_class,
                a.answer, a.latency_ms, CASE WHEN a.chose_the_wait THEN u.delay_ms END
            FROM \(ChannelAttemptRow.unnest(
                bindingFrom: CompletionRow.columns.count + CompletionStepRow.columns.count + 1, as: "a",
                ordinality: true))
            JOIN updated u ON u.id = a.id
            ORDER BY a.ord)
        SELECT id FROM updated
        """
}

/// A completion as `CompletionPlanner` decided it: the state the claim must still be in,
/// the state it goes to, when it is due again (none: it keeps its due time), the dead
/// letter it becomes (none: not a dead letter), and where each channel stands.
private struct CompletionRow: BatchRow {
    let id: Int64
    let attempt: Int32
    let expected: ReminderState
    let final: ReminderState
    let retryDelayMilliseconds: Int64?
    let deadLetterReason: DeadLetterReason?
    let deadLetterError: String?
    /// `ChannelProgress.failures` as an `int4[]` literal: an array per row does not unnest.
    let failures: String
    let statusCodes: String

    init(_ completion: DispatchStore.Completion, _ plan: CompletionPlanner.Plan) {
        id = completion.id
        attempt = Int32(clamping: completion.attempt)
        expected = plan.expected
        final = plan.final
        retryDelayMilliseconds = plan.retryAfter?.wholeMilliseconds
        deadLetterReason = plan.deadLetter
        if case .deadLetter(_, let error) = completion.result { deadLetterError = error } else { deadLetterError = nil }
        failures = "{" + completion.progress.failures.map(String.init).joined(separator: ",") + "}"
        statusCodes = completion.progress.statusCodes
    }

    static let columns: [BoundColumn<CompletionRow>] = [
        BoundColumn("id") { $0.id },
        BoundColumn("attempt") { $0.attempt },
        BoundColumn("expected") { $0.expected.rawValue },
        BoundColumn("final") { $0.final.rawValue },
        BoundColumn("delay_ms") { $0.retryDelayMilliseconds },
        BoundColumn("reason") { $0.deadLetterReason?.rawValue },
        BoundColumn("error") { $0.deadLetterError },
        BoundColumn("failures") { $0.failures },
        BoundColumn("status") { $0.statusCodes },
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
