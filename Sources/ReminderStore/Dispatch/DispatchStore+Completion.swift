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
        var ids: [Int64] = [], attempts: [Int32] = [], expected: [String] = [], finals: [String] = []
        var delays: [Int64] = [], reasons: [String] = [], errors: [String] = []
        var failures: [String] = [], statuses: [String] = []
        var stepIDs: [Int64] = [], froms: [String] = [], tos: [String] = [], events: [String] = []
        var details: [String] = [], stepClasses: [String] = []
        var attemptIDs: [Int64] = [], attemptNumbers: [Int32] = [], indexes: [Int32] = [], channels: [String] = []
        var providers: [String] = [], outcomes: [String] = [], attemptClasses: [String] = [], answers: [String] = []
        var latencies: [Double] = [], choseTheWait: [Bool] = []
        for completion in completions {
            let plan = CompletionPlanner.plan(completion.result)
            ids.append(completion.id)
            attempts.append(Int32(clamping: completion.attempt))
            expected.append(plan.expected.rawValue)
            finals.append(plan.final.rawValue)
            // -1: not due again (the row keeps its due time).
            delays.append(plan.retryAfter?.wholeMilliseconds ?? -1)
            reasons.append(plan.deadLetter?.rawValue ?? "")
            if case .deadLetter(_, let error) = completion.result { errors.append(error) } else { errors.append("") }
            failures.append("{" + completion.progress.failures.map(String.init).joined(separator: ",") + "}")
            statuses.append(completion.progress.statusCodes)
            for step in plan.steps {
                stepIDs.append(completion.id)
                froms.append(step.from.rawValue)
                tos.append(step.to.rawValue)
                events.append(step.event.rawValue)
                details.append(step.detail ?? "")
                stepClasses.append(completion.errorClass ?? "")
            }
            for (position, channelAttempt) in completion.channelAttempts.enumerated() {
                // The retry delay belongs to the last channel tried: its failure chose it.
                choseTheWait.append(position == completion.channelAttempts.count - 1)
                attemptIDs.append(completion.id)
                attemptNumbers.append(Int32(clamping: completion.attempt))
                indexes.append(Int32(clamping: channelAttempt.channelIndex))
                channels.append(channelAttempt.channel)
                providers.append(channelAttempt.provider)
                outcomes.append(channelAttempt.outcome.rawValue)
                attemptClasses.append(channelAttempt.errorClass ?? "")
                answers.append(channelAttempt.answer)
                latencies.append(channelAttempt.latency.inSeconds * 1_000)
            }
        }
        do {
            let rows = try await client.query(
                """
                WITH input AS (
                    SELECT * FROM unnest(\(ids)::int8[], \(attempts)::int4[], \(expected)::text[], \(finals)::text[],
                        \(delays)::int8[], \(reasons)::text[], \(errors)::text[], \(failures)::text[],
                        \(statuses)::text[])
                    AS t(id, attempt, expected, final, delay_ms, reason, error, failures, status)),
                updated AS (
                    UPDATE reminders r SET state = i.final,
                        due_at = CASE WHEN i.delay_ms >= 0 THEN now() + i.delay_ms * interval '1 millisecond'
                            ELSE r.due_at END,
                        lease_until = NULL, channel_failures = i.failures::int4[], channel_status = i.status,
                        updated_at = now()
                    FROM input i
                    WHERE r.id = i.id AND r.state = i.expected AND r.attempts = i.attempt
                    RETURNING r.id, r.attempts, i.delay_ms, i.reason, i.error,
                        r.idempotency_key, r.correlation_id, r.source_topic, r.source_partition, r.source_offset,
                        r.source_key, r.source_value, r.trace_parent, r.trace_state),
                history AS (
                    INSERT INTO reminder_transitions (reminder_id, from_state, to_state, event, attempt, error_class, detail)
                    SELECT u.id, s.from_state, s.to_state, s.event, u.attempts, NULLIF(s.error_class, ''),
                        NULLIF(s.detail, '')
                    FROM unnest(\(stepIDs)::int8[], \(froms)::text[], \(tos)::text[], \(events)::text[],
                        \(details)::text[], \(stepClasses)::text[])
                        WITH ORDINALITY AS s(id, from_state, to_state, event, detail, error_class, ord)
                    JOIN updated u ON u.id = s.id
                    ORDER BY s.ord),
                letters AS (
                    INSERT INTO dead_letters (reason, error, attempts, original_topic, original_partition,
                        original_offset, message_key, message_value, idempotency_key, correlation_id, reminder_id,
                        trace_parent, trace_state)
                    SELECT u.reason, u.error, u.attempts, u.source_topic, u.source_partition, u.source_offset,
                        u.source_key, u.source_value, u.idempotency_key, u.correlation_id, u.id, u.trace_parent,
                        u.trace_state
                    FROM updated u WHERE u.reason <> ''),
                channel_attempts AS (
                    INSERT INTO delivery_attempts (reminder_id, attempt, channel_index, channel, provider, outcome,
                        error_class, answer, latency_ms, retry_delay_ms)
                    SELECT a.id, a.attempt, a.channel_index, a.channel, a.provider, a.outcome, NULLIF(a.error_class, ''),
                        a.answer, a.latency_ms,
                        CASE WHEN u.delay_ms >= 0 AND a.chose_the_wait THEN u.delay_ms END
                    FROM unnest(\(attemptIDs)::int8[], \(attemptNumbers)::int4[], \(indexes)::int4[], \(channels)::text[],
                        \(providers)::text[], \(outcomes)::text[], \(attemptClasses)::text[], \(answers)::text[],
                        \(latencies)::float8[], \(choseTheWait)::bool[])
                        WITH ORDINALITY AS a(id, attempt, channel_index, channel, provider, outcome, error_class, answer,
                            latency_ms, chose_the_wait, ord)
                    JOIN updated u ON u.id = a.id
                    ORDER BY a.ord)
                SELECT id FROM updated
                """, logger: logger)
            var recorded = Set<Int64>()
            for try await id in rows.decode(Int64.self) { recorded.insert(id) }
            return Set(ids).subtracting(recorded)
        } catch {
            throw StoreError.wrapping(error, operation: "record \(completions.count) delivery attempts")
        }
    }
}
