import Logging
import PostgresNIO
import ReminderCore

/// Reads for operators: one reminder with its history, and how many reminders are in
/// each state.
public struct ReminderLookup: Sendable {
    private let client: PostgresClient
    private let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The channel types of a `channels` column, in order.
    static func channelTypes(_ column: String) -> String {
        """
        coalesce((SELECT array_agg(c->>'type' ORDER BY n) FROM jsonb_array_elements(\(column))
            WITH ORDINALITY AS e(c, n)), '{}')
        """
    }

    static func utc(_ column: String) -> String {
        "to_char(\(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    }

    /// The reminder with this (publisher's) id; nil when there is none.
    public func find(reminderID: String) async throws(StoreError) -> ReminderReport? {
        do {
            let rows = try await client.query(
                """
                SELECT r.id, r.reminder_id, r.user_id, r.state, r.time_zone, \(unescaped: Self.utc("r.due_at")),
                    \(unescaped: Self.utc("r.expires_at")), r.attempts, \(unescaped: Self.channelTypes("r.channels")),
                    r.correlation_id, \(unescaped: Self.utc("r.created_at")), \(unescaped: Self.utc("r.updated_at")),
                    r.trace_parent, r.pending_change, \(unescaped: Self.utc("p.due_at")),
                    CASE WHEN p.id IS NOT NULL THEN \(unescaped: Self.channelTypes("p.channels")) END,
                    r.recurrence, to_char(r.deliver_at_local, '\(unescaped: DispatchStore.localFormat)'), r.occurrence,
                    to_char(r.occurrence_local, '\(unescaped: DispatchStore.localFormat)')
                FROM reminders r LEFT JOIN pending_replacements p ON p.id = r.id
                WHERE r.reminder_id = \(reminderID)
                """, logger: logger)
            var found: (Int64, ReminderReport)?
            for try await row in rows.decode(
                (
                    Int64, String, String, String, String, String?, String?, Int, [String], String?, String, String,
                    String?, String?, String?, [String]?, String?, String?, Int?, String?
                )
                .self)
            {
                found = (
                    row.0,
                    ReminderReport(
                        reminderID: row.1, userID: row.2, state: row.3, timeZone: row.4, dueAt: row.5, expiresAt: row.6,
                        attempts: row.7, channels: row.8, correlationID: row.9,
                        traceID: TraceContextHeaders(traceParent: row.12, traceState: nil)?.traceID, createdAt: row.10,
                        updatedAt: row.11, transitions: [], channelAttempts: [],
                        pending: row.13.map { ReminderReport.Pending(change: $0, dueAt: row.14, channels: row.15) },
                        series: row.18.map {
                            ReminderReport.Series(
                                rule: row.16, start: row.16 == nil ? nil : row.17, occurrence: $0,
                                occurrenceLocal: row.19)
                        })
                )
            }
            guard let (id, base) = found else { return nil }
            return ReminderReport(
                reminderID: base.reminderID, userID: base.userID, state: base.state, timeZone: base.timeZone,
                dueAt: base.dueAt, expiresAt: base.expiresAt, attempts: base.attempts, channels: base.channels,
                correlationID: base.correlationID, traceID: base.traceID, createdAt: base.createdAt,
                updatedAt: base.updatedAt,
                transitions: try await transitions(of: id), channelAttempts: try await channelAttempts(of: id),
                pending: base.pending, series: base.series)
        } catch {
            throw StoreError.wrapping(error, operation: "look up a reminder")
        }
    }

    private func transitions(of id: Int64) async throws -> [ReminderReport.Transition] {
        let rows = try await client.query(
            """
            SELECT from_state, to_state, event, attempt, error_class, detail, \(unescaped: Self.utc("at")), occurrence
            FROM reminder_history WHERE reminder_id = \(id) ORDER BY id
            """, logger: logger)
        var result: [ReminderReport.Transition] = []
        for try await row in rows.decode((String?, String, String, Int, String?, String?, String, Int?).self) {
            result.append(
                ReminderReport.Transition(
                    from: row.0, to: row.1, event: row.2, attempt: row.3, errorClass: row.4, detail: row.5, at: row.6,
                    occurrence: row.7))
        }
        return result
    }

    private func channelAttempts(of id: Int64) async throws -> [ReminderReport.ChannelAttempt] {
        let rows = try await client.query(
            """
            SELECT attempt, channel_index, channel, provider, outcome, error_class, answer, latency_ms,
                retry_delay_ms, \(unescaped: Self.utc("at")), occurrence
            FROM delivery_attempts WHERE reminder_id = \(id) ORDER BY id
            """, logger: logger)
        var result: [ReminderReport.ChannelAttempt] = []
        for try await row in rows.decode(
            (Int, Int, String, String, String, String?, String, Double, Int64?, String, Int?).self)
        {
            result.append(
                ReminderReport.ChannelAttempt(
                    attempt: row.0, channelIndex: row.1, channel: row.2, provider: row.3, outcome: row.4,
                    errorClass: row.5, answer: row.6, latencyMilliseconds: row.7, retryDelayMilliseconds: row.8,
                    at: row.9, occurrence: row.10))
        }
        return result
    }

    /// The states a reminder waits in between transactions, short of its end: PENDING and
    /// FAILED never outlive the statement that passes through them.
    public static let waitingStates: [ReminderState] =
        ReminderStateMachine.waitingStates + [ReminderStateMachine.claimTarget]

    /// How many reminders wait in each of `waitingStates` (states with none are left out).
    /// Written so that PostgreSQL reads the dispatcher's partial indexes (`reminders_due`,
    /// `reminders_lease`): the cost follows the reminders in flight, not the history,
    /// which a count over the whole table would read at every scrape. (An index of its
    /// own would cost every state change an index update: 20% of the dispatch benchmark's
    /// herd rate in one measurement.)
    public func countWaitingByState() async throws(StoreError) -> [String: Int] {
        do {
            let rows = try await client.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT state, count(*) FROM reminders
                        WHERE state IN (\(DispatchStore.waitingStates)) OR state = \(DispatchStore.claimTarget)
                        GROUP BY state
                        """), logger: logger)
            var counts: [String: Int] = [:]
            for try await (state, count) in rows.decode((String, Int).self) { counts[state] = count }
            return counts
        } catch {
            throw StoreError.wrapping(error, operation: "count reminders by state")
        }
    }

    /// Whether the database answers.
    public func ping() async throws(StoreError) {
        do {
            try await client.query("SELECT 1", logger: logger)
        } catch {
            throw StoreError.wrapping(error, code: .connection, operation: "reach the database")
        }
    }
}
