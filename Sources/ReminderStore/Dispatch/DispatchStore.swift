import Foundation
import Logging
import NIOCore
import PostgresNIO
import ReminderCore

/// The dispatcher's side of the reminders table. Claiming takes due reminders
/// (`SCHEDULED` or `RETRY` with `due_at` passed, and `SENDING` ones whose lease ran out)
/// with `FOR UPDATE SKIP LOCKED`, so any number of instances can claim from one
/// database without taking the same reminder twice; each claim is recorded as a
/// transition in the same statement.
///
/// The statements that lock reminders they name take them in order of id or skip those
/// locked, so that two of them on the same rows do not deadlock: ingest's lock before a
/// cancel or replace sorts them, the outcomes are given sorted (their plan looks each row
/// up in turn), the lease renewal skips locked rows. The outcomes and the renewal of the
/// same sends, each in its own order, cost a `deadlock_timeout` (1 s) and a retry of the
/// outcomes each time under the fault suite's load (LockOrderTests).
public struct DispatchStore: DispatchStoring {
    /// A reminder taken for delivery, until `leaseUntil`.
    public struct Claimed: Sendable, Equatable {
        public let id: Int64
        public let reminderID: String
        public let userID: String
        /// The state it was claimed from (`SENDING` when a lease had expired).
        public let previousState: ReminderState
        /// Delivery attempts, this one included.
        public let attempt: Int
        public let dueAt: Date
        public let expiresAt: Date?
        public let leaseUntil: Date
        /// The event's channel list and content, as JSON.
        public let channels: String
        public let content: String
        public let correlationID: String?
        /// Transient failures per channel so far (`ChannelProgress.failures`).
        public let channelFailures: [Int]
        /// `ChannelProgress.statusCodes` as stored.
        public let channelStatus: String
        /// The trace the reminder's event started or continued, if any.
        public let trace: TraceContextHeaders?
        /// The user's zone and quiet hours: a send that falls inside them waits.
        public let timeZone: String
        public let quietHours: QuietHours?
        /// Its current occurrence's number (the providers' idempotency key derives from it);
        /// nil for a reminder that never recurred.
        public let occurrence: Int?
        /// For a recurring reminder: the series as stored and where its current occurrence
        /// stands in it.
        public let recurrence: Recurrence?

        /// A recurring reminder's rule (as stored), first occurrence and current occurrence.
        public struct Recurrence: Sendable, Equatable {
            public let rule: String
            public let start: LocalDateTime
            public let index: Int
            public let local: LocalDateTime

            public init(rule: String, start: LocalDateTime, index: Int, local: LocalDateTime) {
                self.rule = rule
                self.start = start
                self.index = index
                self.local = local
            }
        }

        public init(
            id: Int64, reminderID: String, userID: String, previousState: ReminderState, attempt: Int, dueAt: Date,
            expiresAt: Date?, leaseUntil: Date, channels: String, content: String, correlationID: String?,
            channelFailures: [Int], channelStatus: String, trace: TraceContextHeaders?, timeZone: String = "UTC",
            quietHours: QuietHours? = nil, occurrence: Int? = nil, recurrence: Recurrence? = nil
        ) {
            self.timeZone = timeZone
            self.quietHours = quietHours
            self.occurrence = occurrence
            self.recurrence = recurrence
            self.id = id
            self.reminderID = reminderID
            self.userID = userID
            self.previousState = previousState
            self.attempt = attempt
            self.dueAt = dueAt
            self.expiresAt = expiresAt
            self.leaseUntil = leaseUntil
            self.channels = channels
            self.content = content
            self.correlationID = correlationID
            self.channelFailures = channelFailures
            self.channelStatus = channelStatus
            self.trace = trace
        }
    }

    /// A claim an instance holds: the reminder and the attempt it was claimed for (with
    /// its occurrence: a recurring reminder counts attempts from 1 in each).
    public struct Lease: Sendable, Hashable {
        public let id: Int64
        public let attempt: Int
        public let occurrence: Int?

        public init(id: Int64, attempt: Int, occurrence: Int? = nil) {
            self.id = id
            self.attempt = attempt
            self.occurrence = occurrence
        }
    }

    /// What recording completions did beyond the plans without a pending change.
    public struct CompletionReport: Sendable, Equatable {
        /// Not recorded: the claim is no longer theirs.
        public var notRecorded: Set<Int64> = []
        /// Recorded as a cancel or replace pending on them decided (the attempt was not
        /// accepted, so the change applied).
        public var changed: [Int64: PendingChange] = [:]

        public init(notRecorded: Set<Int64> = [], changed: [Int64: PendingChange] = [:]) {
            self.notRecorded = notRecorded
            self.changed = changed
        }
    }

    /// The channel (`LISTEN`/`NOTIFY`) on which ingest announces new due work.
    public static let wakeChannel = "reminders_due"

    let client: PostgresClient
    let logger: Logger
    /// Whether recorded outcomes write their status events to the outbox (`STATUS_EVENTS`).
    let statusEvents: Bool
    /// Opens the sealed channels and content of what it claims (`DATA_ENCRYPTION_KEYS`).
    let sealer: DataSealer?

    public init(client: PostgresClient, logger: Logger, statusEvents: Bool = true, sealer: DataSealer? = nil) {
        self.client = client
        self.logger = logger
        self.statusEvents = statusEvents
        self.sealer = sealer
    }

    /// Claims up to `limit` reminders due now, oldest due first, and leases them for
    /// `lease`; with `takingOver`, also those whose lease ran out in flight.
    public func claim(limit: Int, lease: Duration, takingOver: Bool) async throws(StoreError) -> [Claimed] {
        let leaseMilliseconds = lease.wholeMilliseconds
        do {
            // A change waiting on a reminder whose sender stopped applies first: a
            // replacement may be due at once, a cancel must never be claimed.
            if takingOver { try await resolveAbandonedChanges(limit: limit) }
            var binds = PostgresBindings(capacity: 3)
            binds.append(Int64(limit))
            binds.append(leaseMilliseconds)
            binds.append(takingOver)
            var claimed: [Claimed] = []
            claimed.reserveCapacity(limit)
            try await client.execute(ClaimStatement.self, binds, logger: logger) { row in
                var cells = RowCells(row)
                let id: Int64 = try cells.next(), reminderID: String = try cells.next()
                let userID: String = try cells.next(), state: String = try cells.next()
                let attempt: Int32 = try cells.next(), dueAt: Date = try cells.next()
                let expiresAt: Date? = try cells.next(), leaseUntil: Date = try cells.next()
                let storedChannels: String = try cells.next(), storedContent: String = try cells.next()
                let correlationID: String? = try cells.next(), channelFailures: [Int32] = try cells.next()
                let channelStatus: String = try cells.next()
                let traceParent: String? = try cells.next(), traceState: String? = try cells.next()
                let timeZone: String = try cells.next()
                let quietStart: Int32? = try cells.next(), quietEnd: Int32? = try cells.next()
                let occurrence: Int32? = try cells.next(), rule: String? = try cells.next()
                let start: String? = try cells.next(), index: Int32? = try cells.next(),
                    local: String? = try cells.next()
                let sealedWith: String? = try cells.next(), sealedChannels: ByteBuffer? = try cells.next()
                let sealedContent: ByteBuffer? = try cells.next()
                var recurrence: Claimed.Recurrence?
                if let rule, let start = start.flatMap(LocalDateTime.init(parsing:)), let index,
                    let local = local.flatMap(LocalDateTime.init(parsing:))
                {
                    recurrence = Claimed.Recurrence(rule: rule, start: start, index: Int(index), local: local)
                }
                let (channels, content) = delivery(
                    id: id, channels: storedChannels, content: storedContent, sealedWith: sealedWith,
                    sealedChannels: sealedChannels, sealedContent: sealedContent)
                claimed.append(
                    Claimed(
                        id: id, reminderID: reminderID, userID: userID,
                        previousState: ReminderState(rawValue: state) ?? .scheduled, attempt: Int(attempt),
                        dueAt: dueAt, expiresAt: expiresAt, leaseUntil: leaseUntil, channels: channels,
                        content: content, correlationID: correlationID, channelFailures: channelFailures.map(Int.init),
                        channelStatus: channelStatus,
                        trace: TraceContextHeaders(traceParent: traceParent, traceState: traceState),
                        timeZone: timeZone, quietHours: Self.quietHours(startMinute: quietStart, endMinute: quietEnd),
                        occurrence: occurrence.map(Int.init), recurrence: recurrence))
            }
            return claimed
        } catch {
            throw StoreError.wrapping(error, operation: "claim due reminders")
        }
    }

    /// Rows another transaction holds locked (most often the outcomes' statement recording
    /// them, or ingest applying a cancel) are skipped, neither renewed nor returned: the
    /// renewal never waits for a row lock, so it cannot deadlock with those statements,
    /// and the next renewal, a quarter lease later, takes what it skipped. What it returns
    /// is read as the statement began: a claim recorded meanwhile is not returned either.
    public func renew(_ leases: [Lease], lease: Duration) async throws(StoreError) -> Set<Int64> {
        do {
            let rows = try await client.query(
                """
                WITH l AS (
                    SELECT * FROM unnest(\(leases.map(\.id))::int8[], \(leases.map { Int32(clamping: $0.attempt) })::int4[],
                        \(NullableArray(leases.map { $0.occurrence.map { Int32(clamping: $0) } }))::int4[])
                        AS l(id, attempt, occurrence)),
                held AS (
                    SELECT r.id FROM reminders r JOIN l ON r.id = l.id
                    WHERE \(unescaped: Self.leaseHeld)
                    FOR UPDATE OF r SKIP LOCKED),
                renewed AS (
                    UPDATE reminders r SET lease_until = now() + \(lease.wholeMilliseconds) * interval '1 millisecond'
                    FROM held WHERE r.id = held.id)
                SELECT l.id FROM l LEFT JOIN reminders r ON r.id = l.id
                WHERE NOT coalesce(\(unescaped: Self.leaseHeld), false)
                """, logger: logger)
            var lost = Set<Int64>()
            for try await id in rows.decode(Int64.self) { lost.insert(id) }
            return lost
        } catch {
            throw StoreError.wrapping(error, operation: "renew \(leases.count) leases")
        }
    }

    /// The reminder `r` is still claimed as the lease `l` says.
    private static let leaseHeld = """
        r.attempts = l.attempt AND r.occurrence IS NOT DISTINCT FROM l.occurrence AND r.state = \(claimTarget)
        """

    /// A claimed reminder's channel list and content as JSON: as stored, or opened when
    /// sealed. One that does not open (a changed row) is given back empty, which the
    /// dispatcher cannot read and dead-letters as a permanent failure, instead of failing
    /// every claim it is part of.
    private func delivery(
        id: Int64, channels: String, content: String, sealedWith: String?, sealedChannels: ByteBuffer?,
        sealedContent: ByteBuffer?
    ) -> (channels: String, content: String) {
        guard let sealedWith else { return (channels, content) }
        do {
            let channels = try DataSealer.read(
                sealedChannels.map { Array($0.readableBytesView) } ?? [], keyID: sealedWith, for: .channels,
                with: sealer)
            let content = try DataSealer.read(
                sealedContent.map { Array($0.readableBytesView) } ?? [], keyID: sealedWith, for: .content,
                with: sealer)
            return (String(decoding: channels, as: UTF8.self), String(decoding: content, as: UTF8.self))
        } catch {
            logger.error("a claimed reminder cannot be opened", metadata: ["reminder": "\(id)", "error": "\(error)"])
            return ("", "")
        }
    }

    /// Quiet hours from their bounds' minutes of the day, as the claim reads them.
    static func quietHours(startMinute: Int32?, endMinute: Int32?) -> QuietHours? {
        guard let startMinute, let endMinute,
            let start = LocalTime(hour: Int(startMinute / 60), minute: Int(startMinute % 60)),
            let end = LocalTime(hour: Int(endMinute / 60), minute: Int(endMinute % 60))
        else { return nil }
        return QuietHours(start: start, end: end)
    }

    /// When the next reminder falls due or the next lease runs out (now or in the past
    /// when some already have), or nil when there is neither: the dispatcher sleeps
    /// until then, or until woken.
    public func nextDueTime() async throws(StoreError) -> Date? {
        do {
            var next: Date?
            try await client.execute(NextDueStatement.self, logger: logger) { next = try $0.decode(Date?.self) }
            return next
        } catch {
            throw StoreError.wrapping(error, operation: "look up the next due time")
        }
    }

    /// `state IN (…)` for the states a dispatcher claims from when due, and the state a
    /// claim leads to (also where an expired lease is taken over from): literals from
    /// `ReminderStateMachine`, so that the partial indexes (`reminders_due`,
    /// `reminders_lease`) serve the queries. Raw values are fixed identifiers, never input.
    static let waitingStates = ReminderStateMachine.waitingStates.map { "'\($0.rawValue)'" }.joined(separator: ", ")
    static let claimTarget = "'\(ReminderStateMachine.claimTarget.rawValue)'"

    /// How a wall-clock `timestamp` is read back: `LocalDateTime(parsing:)`'s form.
    static let localFormat = #"YYYY-MM-DD"T"HH24:MI:SS"#

    /// $1: how many at most; $2: the lease in milliseconds; $3: whether leases that ran
    /// out are taken over (only where the state machine lets a claim take one over).
    static let claimSQL = """
        WITH due AS (
            SELECT id, state, due_at AS since FROM reminders
            WHERE state IN (\(waitingStates)) AND due_at <= now()
            ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED),
        expired AS (
            SELECT id, state, lease_until AS since FROM reminders
            WHERE state = \(claimTarget) AND lease_until <= now() AND \(ReminderStateMachine.takesOverExpiredLeases)
                AND pending_change IS NULL AND $3
            ORDER BY lease_until LIMIT $1 FOR UPDATE SKIP LOCKED),
        candidates AS (
            SELECT id, state FROM (SELECT * FROM expired UNION ALL SELECT * FROM due) AS both_kinds
            ORDER BY since LIMIT $1),
        claimed AS (
            UPDATE reminders r SET state = \(claimTarget), attempts = r.attempts + 1,
                lease_until = now() + $2 * interval '1 millisecond', updated_at = now()
            FROM candidates c WHERE r.id = c.id
            RETURNING r.id, r.reminder_id, r.user_id, c.state AS previous_state, r.attempts, r.due_at,
                r.expires_at, r.lease_until, r.channels::text, r.content::text, r.correlation_id,
                r.channel_failures, r.channel_status, r.trace_parent, r.trace_state, r.time_zone,
                (extract(hour FROM r.quiet_start) * 60 + extract(minute FROM r.quiet_start))::int4,
                (extract(hour FROM r.quiet_end) * 60 + extract(minute FROM r.quiet_end))::int4,
                r.occurrence, r.recurrence, to_char(r.deliver_at_local, '\(localFormat)'), r.occurrence_index,
                to_char(r.occurrence_local, '\(localFormat)'), r.sealed_with, r.sealed_channels, r.sealed_content),
        logged AS (
            INSERT INTO reminder_transitions (reminder_id, from_state, to_state, event, attempt, occurrence)
            SELECT id, previous_state, \(claimTarget), '\(ReminderEventKind.claim.rawValue)', attempts, occurrence
            FROM claimed)
        SELECT * FROM claimed ORDER BY due_at
        """

    static let nextDueSQL = """
        SELECT least(
            (SELECT min(due_at) FROM reminders WHERE state IN (\(waitingStates))),
            (SELECT min(lease_until) FROM reminders WHERE state = \(claimTarget)))
        """
}

extension DispatchStore {
    /// The dispatcher's statements, prepared once per connection (`PreparedSQL`).
    enum ClaimStatement: PreparedSQL {
        static let name = preparedName(sql)
        static let sql = claimSQL
    }

    enum NextDueStatement: PreparedSQL {
        static let name = preparedName(sql)
        static let sql = nextDueSQL
    }
}

extension DispatchStore.Claimed {
    /// What kind of reminder this is: a one-off, or a recurring one with the
    /// occurrence after this one as of `now` (`RecurrenceCalculator.next`), and this
    /// occurrence's wall-clock instant. A rule that cannot be read back ends the series
    /// with this occurrence.
    public func series(now: Instant) -> (CompletionPlanner.Series, Instant?) {
        guard let stored = recurrence, let occurrence = occurrence else { return (.oneOff, nil) }
        guard let rule = try? StoredDelivery.rule(fromJSON: stored.rule) else { return (.recurring(next: nil), nil) }
        let series = RecurrenceCalculator.Series(
            rule: rule, start: stored.start, timeZone: timeZone, quietHours: quietHours,
            expiresAt: expiresAt.map(Instant.init))
        let current = RecurrenceCalculator.Occurrence(number: occurrence, index: stored.index, local: stored.local)
        return (
            .recurring(next: RecurrenceCalculator.next(after: current, of: series, now: now)),
            RecurrenceCalculator.wallInstant(stored.local, inZone: timeZone)
        )
    }
}
