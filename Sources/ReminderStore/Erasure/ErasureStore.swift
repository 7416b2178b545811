import Foundation
import Logging
import PostgresNIO
import ReminderCore

/// Erasure of one user's personal data (GDPR Art. 17), in the order that makes it safe:
/// `stopSending` cancels what is still to be sent (`ErasurePlanner` decides per
/// reminder), the caller waits until `inFlight` is 0, and `erase` removes content,
/// addresses, tokens, message bytes, the providers' status lines and dead letters'
/// payloads from the user's finished reminders, and records the erasure under a hash of
/// the user id. Inbox keys and payload hashes stay: a redelivered old event is still a
/// duplicate. Every step is idempotent.
public struct ErasureStore: Sendable {
    /// What `stopSending` did.
    public struct Stopped: Sendable, Equatable {
        /// Reminders cancelled now.
        public var cancelled: Int
        /// Reminders being sent, now with a cancel waiting on their attempt's outcome.
        public var awaited: Int

        public init(cancelled: Int, awaited: Int) {
            self.cancelled = cancelled
            self.awaited = awaited
        }
    }

    /// What an erasure removed, as recorded in `erasures`.
    public struct Record: Sendable, Equatable {
        public let id: UUID
        /// RFC 3339, UTC.
        public let at: String
        public let remindersCancelled: Int
        public let remindersErased: Int
        public let attemptsErased: Int
        public let deadLettersErased: Int
    }

    let client: PostgresClient
    let logger: Logger
    let statusEvents: Bool

    /// `statusEvents`: whether a cancel writes its `cancelled` status record.
    public init(client: PostgresClient, logger: Logger, statusEvents: Bool = true) {
        self.client = client
        self.logger = logger
        self.statusEvents = statusEvents
    }

    /// Cancels the user's reminders still waiting to be sent, and leaves a pending cancel
    /// on those being sent, locking each row while it decides (a dispatcher's claim skips
    /// locked rows; a sender's outcome waits for the lock, then applies the cancel).
    public func stopSending(userID: String) async throws(StoreError) -> Stopped {
        do {
            return try await client.withTransaction(logger: logger) { connection in
                let rows = try await connection.query(
                    """
                    SELECT id, state, pending_change FROM reminders
                    WHERE user_id = \(userID) AND NOT (state = ANY(\(Self.finishedStates)))
                    ORDER BY id FOR UPDATE
                    """, logger: logger)
                var cancels: [(id: Int64, transition: ReminderTransition)] = []
                var awaited: [(id: Int64, change: PendingChange)] = []
                for try await (id, stateText, pendingText) in rows.decode((Int64, String, String?).self) {
                    guard let state = ReminderState(rawValue: stateText) else {
                        throw StoreError(
                            code: .query, operation: "stop sending to a user being erased",
                            message: "reminder \(id) has an unknown state")
                    }
                    switch ErasurePlanner.step(state: state, pending: pendingText.flatMap(PendingChange.init)) {
                    case .cancel(let transition, _): cancels.append((id, transition))
                    case .awaitAttempt(let change): awaited.append((id, change))
                    case .finished: break
                    }
                }
                try await cancel(cancels, on: connection)
                try await leavePendingCancel(awaited, on: connection)
                return Stopped(cancelled: cancels.count, awaited: awaited.count)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.wrapping(error, operation: "stop sending to a user being erased")
        }
    }

    private func cancel(_ cancels: [(id: Int64, transition: ReminderTransition)], on connection: PostgresConnection)
        async throws
    {
        guard !cancels.isEmpty else { return }
        let ids = cancels.map(\.id)
        try await connection.query(
            """
            WITH changed AS (
                UPDATE reminders r SET state = c.to_state, lease_until = NULL, updated_at = now()
                FROM unnest(\(ids)::int8[], \(cancels.map(\.transition.to.rawValue))::text[]) AS c(id, to_state)
                WHERE r.id = c.id
                RETURNING r.id, r.occurrence)
            INSERT INTO reminder_transitions (reminder_id, from_state, to_state, event, detail, occurrence)
            SELECT c.id, c.from_state, c.to_state, c.event, \(ErasurePlanner.detail), changed.occurrence
            FROM unnest(\(ids)::int8[], \(cancels.map(\.transition.from.rawValue))::text[],
                \(cancels.map(\.transition.to.rawValue))::text[], \(cancels.map(\.transition.event.rawValue))::text[])
                AS c(id, from_state, to_state, event)
            JOIN changed ON changed.id = c.id
            """, logger: logger)
        guard statusEvents else { return }
        try await connection.query(
            """
            INSERT INTO status_events (reminder, reminder_id, user_id, correlation_id, type, occurrence, attempt, detail)
            SELECT id, reminder_id, user_id, correlation_id, \(StatusUpdate.Kind.cancelled.rawValue), occurrence,
                attempts, \(ErasurePlanner.detail)
            FROM reminders WHERE id = ANY(\(ids)) ORDER BY id
            """, logger: logger)
    }

    private func leavePendingCancel(_ awaited: [(id: Int64, change: PendingChange)], on connection: PostgresConnection)
        async throws
    {
        guard !awaited.isEmpty else { return }
        let ids = awaited.map(\.id)
        // A pending replacement gives way to the cancel, as when a publisher's cancel
        // arrives after a replace during a send.
        try await connection.query(
            """
            WITH changed AS (
                UPDATE reminders r SET pending_change = c.change, updated_at = now()
                FROM unnest(\(ids)::int8[], \(awaited.map(\.change.rawValue))::text[]) AS c(id, change)
                WHERE r.id = c.id
                RETURNING r.id, r.state, r.attempts, r.occurrence),
            logged AS (
                INSERT INTO reminder_transitions (reminder_id, from_state, to_state, event, attempt, detail, occurrence)
                SELECT id, state, state, \(ReminderEventKind.cancel.rawValue), attempts,
                    \(ErasurePlanner.detail + ": waits for the attempt in flight"), occurrence
                FROM changed)
            DELETE FROM pending_replacements p USING changed c WHERE p.id = c.id
            """, logger: logger)
    }

    /// How many of the user's reminders are being sent.
    public func inFlight(userID: String) async throws(StoreError) -> Int {
        do {
            let rows = try await client.query(
                """
                SELECT count(*) FROM reminders
                WHERE user_id = \(userID) AND state = \(ReminderStateMachine.claimTarget.rawValue)
                """, logger: logger)
            return try await rows.collect().first.map { Int(try $0.decode(Int64.self)) } ?? 0
        } catch {
            throw StoreError.wrapping(error, operation: "count a user's reminders in flight")
        }
    }

    /// Removes the personal data of the user's finished reminders and dead letters in one
    /// transaction and records the erasure; `cancelled` is what `stopSending` cancelled,
    /// for the record. Reminders that have not finished (one created after the erasure
    /// began) are left alone.
    public func erase(userID: String, cancelled: Int) async throws(StoreError) -> Record {
        do {
            return try await client.withTransaction(logger: logger) { connection in
                let reminders = try await count(
                    connection.query(
                        """
                        UPDATE reminders r SET \(unescaped: Self.scrubAssignments("r")), erased_at = now()
                        WHERE r.user_id = \(userID) AND r.state = ANY(\(Self.finishedStates)) AND r.erased_at IS NULL
                        RETURNING r.id
                        """, logger: logger))
                let attempts = try await count(
                    connection.query(
                        """
                        UPDATE delivery_attempts a SET answer = '' FROM reminders r
                        WHERE a.reminder_id = r.id AND r.user_id = \(userID) AND r.state = ANY(\(Self.finishedStates))
                            AND a.answer <> ''
                        RETURNING a.id
                        """, logger: logger))
                try await connection.query(
                    """
                    DELETE FROM pending_replacements p USING reminders r
                    WHERE p.id = r.id AND r.user_id = \(userID) AND r.state = ANY(\(Self.finishedStates))
                    """, logger: logger)
                let deadLetters = try await count(
                    connection.query(
                        """
                        UPDATE dead_letters SET message_key = NULL, message_value = NULL, message_headers = '[]', sealed_with = NULL
                        WHERE (user_id = \(userID)
                                OR reminder_id IN (SELECT id FROM reminders WHERE user_id = \(userID)))
                            AND (message_value IS NOT NULL OR message_key IS NOT NULL OR message_headers <> '[]')
                        RETURNING id
                        """, logger: logger))
                let rows = try await connection.query(
                    """
                    INSERT INTO erasures (user_id_sha256, reminders_cancelled, reminders_erased, attempts_erased,
                        dead_letters_erased)
                    VALUES (sha256(convert_to(\(userID), 'UTF8')), \(Int32(clamping: cancelled)),
                        \(Int32(clamping: reminders)), \(Int32(clamping: attempts)), \(Int32(clamping: deadLetters)))
                    RETURNING id, to_char(requested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                    """, logger: logger)
                var recorded: (UUID, String)?
                for try await row in rows.decode((UUID, String).self) { recorded = row }
                guard let (id, at) = recorded else {
                    throw StoreError(code: .query, operation: "record an erasure", message: "no row returned")
                }
                return Record(
                    id: id, at: at, remindersCancelled: cancelled, remindersErased: reminders,
                    attemptsErased: attempts, deadLettersErased: deadLetters)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.wrapping(error, operation: "erase a user's data")
        }
    }

    private func count(_ rows: PostgresRowSequence) async throws -> Int {
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }

    /// The states in which a reminder has finished: nothing reads its content again.
    static let finishedStates = ReminderState.allCases.filter(ErasurePlanner.mayErase).map(\.rawValue)

    /// The assignments that remove a reminder's personal data and keep what its history
    /// needs: the channels' types (what `GET /v1/reminders/{id}` shows), never their
    /// addresses or tokens. Shared by erasure and by retention that keeps history. A sealed
    /// row loses its sealed values too and is left plaintext (what is left is not personal).
    static func scrubAssignments(_ alias: String) -> String {
        """
        content = '{}'::jsonb, source_key = NULL, source_value = '\\x'::bytea,
        sealed_channels = NULL, sealed_content = NULL, sealed_with = NULL,
        channels = (SELECT coalesce(jsonb_agg(jsonb_build_object('type', c -> 'type')), '[]'::jsonb)
            FROM jsonb_array_elements(\(alias).channels) AS c)
        """
    }
}
