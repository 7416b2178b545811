import Foundation
import PostgresNIO
import ReminderCore
import ReminderStore
import TestSupport
import Testing

/// A recurring reminder against PostgreSQL: ingest stores its first occurrence, each
/// recorded outcome moves the row on to the next one in the same statement, and every
/// change writes its status events. Time moves by moving due times in the database.
@Suite(.timeLimit(.minutes(6)))
struct RecurringReminderTests {
    private static let zone = "Europe/Berlin"
    private let dispatch: @Sendable (PostgresClient) -> DispatchStore = {
        DispatchStore(client: $0, logger: TestDatabase.logger)
    }

    /// Tomorrow's date in Berlin when the test started: a series that starts in the future,
    /// whose occurrences are never already due when the one before is done. Taken once per
    /// test (each test has its own instance), so that a test running across Berlin's
    /// midnight compares every day with the one its series started on.
    private let tomorrow = CivilDate.tomorrow(in: RecurringReminderTests.zone)

    private static func schedule(
        _ id: String, key: String, rule: RecurrenceRule, start: LocalDateTime, title: String = "Water the plants",
        expiresAt: Instant? = nil
    ) -> ReminderEvent {
        ReminderEvent(
            idempotencyKey: key, reminderID: id, userID: "user-r", correlationID: "corr-\(key)",
            action: .schedule(
                ReminderSchedule(
                    timeZone: zone, deliverAt: .local(start), channels: [.email(to: "ada@example.com")],
                    content: Content(title: title, body: "daily", data: nil), quietHours: nil, expiresAt: expiresAt,
                    recurrence: rule)))
    }

    private static func cancel(_ id: String, key: String) -> ReminderEvent {
        ReminderEvent(idempotencyKey: key, reminderID: id, userID: "user-r", correlationID: nil, action: .cancel)
    }

    private func ingest(
        _ client: PostgresClient, _ events: [ReminderEvent], offset: Int, statusEvents: Bool = true
    ) async throws {
        let records = events.enumerated().map { index, event in
            IngestRecord(
                topic: "reminders", partition: 0, offset: Int64(offset + index), key: Array("user-r".utf8),
                value: Array("{\"key\":\"\(event.idempotencyKey)\"}".utf8), headers: [], decoded: .valid(event))
        }
        _ = try await IngestStore(client: client, logger: TestDatabase.logger, statusEvents: statusEvents).ingest(
            records)
    }

    /// Makes everything waiting due now (the clock moved on to the next occurrence) and
    /// claims it.
    private func claimDue(_ client: PostgresClient) async throws -> [DispatchStore.Claimed] {
        try await client.query(
            "UPDATE reminders SET due_at = now() - interval '1 second' WHERE state IN ('SCHEDULED', 'RETRY')",
            logger: TestDatabase.logger)
        return try await dispatch(client).claim(limit: 10, lease: .seconds(60), takingOver: false)
    }

    /// Records `result` for `claimed` through `store` (by default one writing status events).
    private func complete(
        _ client: PostgresClient, _ claimed: DispatchStore.Claimed, _ result: DispatchStore.Completion.Result,
        store: DispatchStore? = nil
    ) async throws -> DispatchStore.CompletionReport {
        let (series, occurrenceAt) = claimed.series(now: Instant(Date()))
        let delivered = ChannelAttempt(
            channelIndex: 0, channel: "email", provider: "smtp",
            outcome: result == .delivered ? .delivered : .transient,
            errorClass: result == .delivered ? nil : "connection", answer: "250", latency: .milliseconds(3))
        return try await (store ?? dispatch(client)).complete([
            DispatchStore.Completion(
                id: claimed.id, attempt: claimed.attempt, result: result, progress: ChannelProgress(channelCount: 1),
                errorClass: nil, channelAttempts: [delivered], series: series, occurrence: claimed.occurrence,
                occurrenceAt: occurrenceAt)
        ])
    }

    private struct Row: Equatable {
        let state: String
        let occurrence: Int?
        let index: Int?
        let local: String?
        let dueAt: Date?
        let attempts: Int
    }

    private func row(_ client: PostgresClient, _ reminderID: String) async throws -> Row {
        let row = try await client.query(
            """
            SELECT state, occurrence, occurrence_index, to_char(occurrence_local, 'YYYY-MM-DD"T"HH24:MI:SS'), due_at,
                attempts
            FROM reminders WHERE reminder_id = \(reminderID)
            """, logger: TestDatabase.logger
        ).collect().first!.decode((String, Int?, Int?, String?, Date?, Int).self)
        return Row(state: row.0, occurrence: row.1, index: row.2, local: row.3, dueAt: row.4, attempts: row.5)
    }

    /// `type:occurrence` of every status event of the reminder, in outbox order.
    private func statuses(_ client: PostgresClient, _ reminderID: String) async throws -> [String] {
        var lines: [String] = []
        let rows = try await client.query(
            """
            SELECT type || ':' || coalesce(occurrence::text, '-')
                || coalesce(':' || channel || '/' || provider, '') || coalesce(':retry=' || will_retry::text, '')
                || coalesce(':' || reason, '')
            FROM status_events WHERE reminder_id = \(reminderID) ORDER BY seq
            """, logger: TestDatabase.logger)
        for try await line in rows.decode(String.self) { lines.append(line) }
        return lines
    }

    /// `occurrence:from>to:event` of the reminder's history.
    private func history(_ client: PostgresClient, _ reminderID: String) async throws -> [String] {
        var lines: [String] = []
        let rows = try await client.query(
            """
            SELECT coalesce(t.occurrence::text, '-') || ':' || coalesce(t.from_state, '') || '>' || t.to_state || ':'
                || t.event
            FROM reminder_history t JOIN reminders r ON r.id = t.reminder_id
            WHERE r.reminder_id = \(reminderID) ORDER BY t.id
            """, logger: TestDatabase.logger)
        for try await line in rows.decode(String.self) { lines.append(line) }
        return lines
    }

    private static func berlinNine(_ date: CivilDate) -> Date {
        let local = LocalDateTime(date: date, time: LocalTime(hour: 9, minute: 0)!)
        let instant = RecurrenceCalculator.wallInstant(local, inZone: zone)!
        return Date(timeIntervalSince1970: Double(instant.microsecondsSinceEpoch) / 1_000_000)
    }

    @Test func eachOutcomeMovesTheSeriesOnToItsNextOccurrenceUntilCountEndsIt() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let start = LocalDateTime(date: tomorrow, time: LocalTime(hour: 9, minute: 0)!)
            let rule = RecurrenceRule(frequency: .daily, end: .count(3))
            try await ingest(client, [Self.schedule("r-1", key: "k-1", rule: rule, start: start)], offset: 0)
            #expect(
                try await row(client, "r-1")
                    == Row(
                        state: "SCHEDULED", occurrence: 1, index: 1, local: start.description,
                        dueAt: Self.berlinNine(tomorrow), attempts: 0))
            for number in 1...3 {
                let claimed = try #require(try await claimDue(client).first)
                #expect(claimed.occurrence == number)
                #expect(try await complete(client, claimed, .delivered) == DispatchStore.CompletionReport())
                let after = try await row(client, "r-1")
                if number < 3 {
                    let day = tomorrow.adding(days: number)
                    #expect(
                        after
                            == Row(
                                state: "SCHEDULED", occurrence: number + 1, index: number + 1,
                                local: LocalDateTime(date: day, time: start.time).description,
                                dueAt: Self.berlinNine(day), attempts: 0))
                } else {
                    #expect(after.state == "DELIVERED" && after.occurrence == 3)
                }
            }
            #expect(try await claimDue(client).isEmpty)
            #expect(
                try await statuses(client, "r-1") == [
                    "scheduled:1", "delivered:1:email/smtp", "scheduled:2", "delivered:2:email/smtp", "scheduled:3",
                    "delivered:3:email/smtp",
                ])
            #expect(
                try await history(client, "r-1") == [
                    "1:PENDING>SCHEDULED:schedule", "1:SCHEDULED>SENDING:claim", "1:SENDING>DELIVERED:deliver",
                    "2:DELIVERED>SCHEDULED:recur", "2:SCHEDULED>SENDING:claim", "2:SENDING>DELIVERED:deliver",
                    "3:DELIVERED>SCHEDULED:recur", "3:SCHEDULED>SENDING:claim", "3:SENDING>DELIVERED:deliver",
                ])
            let attempts = try await client.query(
                "SELECT array_agg(occurrence ORDER BY id) FROM delivery_attempts", logger: TestDatabase.logger
            ).collect().first!.decode([Int32].self)
            #expect(attempts == [1, 2, 3])
        }
    }

    @Test func aTransientFailureRetriesTheSameOccurrenceAndADeadLetteredOneDoesNotEndTheSeries() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let start = LocalDateTime(date: tomorrow, time: LocalTime(hour: 9, minute: 0)!)
            try await ingest(
                client, [Self.schedule("r-2", key: "k-2", rule: RecurrenceRule(frequency: .daily), start: start)],
                offset: 0)
            let first = try #require(try await claimDue(client).first)
            _ = try await complete(client, first, .retry(after: .seconds(30)))
            #expect(try await row(client, "r-2").state == "RETRY")
            #expect(try await row(client, "r-2").occurrence == 1)
            let retried = try #require(try await claimDue(client).first)
            #expect(retried.occurrence == 1 && retried.attempt == 2)
            _ = try await complete(client, retried, .delivered)
            let second = try #require(try await claimDue(client).first)
            #expect(second.occurrence == 2 && second.attempt == 1)
            _ = try await complete(client, second, .deadLetter(.permanentFailure, error: "550 mailbox unavailable"))
            let after = try await row(client, "r-2")
            #expect(after.state == "SCHEDULED" && after.occurrence == 3 && after.attempts == 0)
            let letters = try await client.query(
                "SELECT reason, error FROM dead_letters", logger: TestDatabase.logger
            ).collect().map { try $0.decode((String, String).self) }
            #expect(letters.count == 1 && letters.first?.0 == "permanent_failure")
            #expect(
                try await statuses(client, "r-2") == [
                    "scheduled:1", "attempt_failed:1:email/smtp:retry=true", "delivered:1:email/smtp", "scheduled:2",
                    "attempt_failed:2:email/smtp:retry=false", "dead_lettered:2:permanent_failure", "scheduled:3",
                ])
            // The occurrence is its own: retries keep the number, the next gets a new one.
            #expect(
                try await history(client, "r-2").suffix(4) == [
                    "2:SCHEDULED>SENDING:claim", "2:SENDING>FAILED:fail", "2:FAILED>DEAD_LETTER:deadLetter",
                    "3:DEAD_LETTER>SCHEDULED:recur",
                ])
        }
    }

    /// Attempts count from 1 again in each occurrence: a sender whose lease was taken over
    /// on occurrence 1 holds "attempt 1" as the next occurrence's sender does. Its late
    /// outcome and its lease renewal must not land on occurrence 2.
    @Test func aStaleSenderOfAnEarlierOccurrenceRecordsNothingOnTheNextOne() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let start = LocalDateTime(date: tomorrow, time: LocalTime(hour: 9, minute: 0)!)
            try await ingest(
                client, [Self.schedule("r-6", key: "k-6", rule: RecurrenceRule(frequency: .daily), start: start)],
                offset: 0)
            let stale = try #require(try await claimDue(client).first)
            #expect(stale.occurrence == 1 && stale.attempt == 1)
            // Its lease runs out; another instance takes the occurrence over and delivers it.
            try await client.query(
                "UPDATE reminders SET lease_until = now() - interval '1 second'", logger: TestDatabase.logger)
            let takenOver = try #require(
                try await dispatch(client).claim(limit: 10, lease: .seconds(60), takingOver: true).first)
            #expect(takenOver.occurrence == 1 && takenOver.attempt == 2)
            _ = try await complete(client, takenOver, .delivered)
            let second = try #require(try await claimDue(client).first)
            #expect(second.occurrence == 2 && second.attempt == 1)

            let lost = try await dispatch(client).renew(
                [DispatchStore.Lease(id: stale.id, attempt: stale.attempt, occurrence: stale.occurrence)],
                lease: .seconds(60))
            #expect(lost == [stale.id])
            let report = try await complete(client, stale, .deadLetter(.permanentFailure, error: "550 late"))
            #expect(report.notRecorded == [stale.id])
            let after = try await row(client, "r-6")
            #expect(after.state == "SENDING" && after.occurrence == 2 && after.attempts == 1)
            #expect(
                try await statuses(client, "r-6") == [
                    "scheduled:1", "delivered:1:email/smtp", "scheduled:2",
                ])
            // The current sender's lease and outcome still land.
            #expect(
                try await dispatch(client).renew(
                    [DispatchStore.Lease(id: second.id, attempt: second.attempt, occurrence: second.occurrence)],
                    lease: .seconds(60)
                ).isEmpty)
            #expect(try await complete(client, second, .delivered) == DispatchStore.CompletionReport())
            #expect(try await row(client, "r-6").occurrence == 3)
        }
    }

    /// `STATUS_EVENTS=false`: the same changes, and nothing in the status outbox.
    @Test func withStatusEventsOffNothingIsWrittenToTheOutbox() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let start = LocalDateTime(date: tomorrow, time: LocalTime(hour: 9, minute: 0)!)
            try await ingest(
                client, [Self.schedule("r-7", key: "k-7", rule: RecurrenceRule(frequency: .daily), start: start)],
                offset: 0, statusEvents: false)
            let claimed = try #require(try await claimDue(client).first)
            let quiet = DispatchStore(client: client, logger: TestDatabase.logger, statusEvents: false)
            #expect(try await complete(client, claimed, .delivered, store: quiet) == DispatchStore.CompletionReport())
            #expect(try await row(client, "r-7").occurrence == 2)
            #expect(try await statuses(client, "r-7").isEmpty)
        }
    }

    @Test func aCancelEndsTheSeriesAlsoWhenTheOccurrenceInFlightIsDelivered() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let start = LocalDateTime(date: tomorrow, time: LocalTime(hour: 9, minute: 0)!)
            let rule = RecurrenceRule(frequency: .daily)
            try await ingest(
                client,
                [
                    Self.schedule("r-3", key: "k-3", rule: rule, start: start),
                    Self.schedule("r-4", key: "k-4", rule: rule, start: start),
                ], offset: 0)
            let claimed = try await claimDue(client)
            #expect(claimed.count == 2)
            try await ingest(client, [Self.cancel("r-3", key: "c-3"), Self.cancel("r-4", key: "c-4")], offset: 10)
            // Delivered: that occurrence went out, no other follows. Failed: the cancel applies.
            for reminder in claimed {
                _ = try await complete(
                    client, reminder, reminder.reminderID == "r-3" ? .delivered : .retry(after: .zero))
            }
            #expect(try await row(client, "r-3").state == "DELIVERED")
            #expect(try await row(client, "r-4").state == "CANCELLED")
            #expect(try await claimDue(client).isEmpty)
            #expect(try await statuses(client, "r-3") == ["scheduled:1", "delivered:1:email/smtp", "cancelled:1"])
            #expect(
                try await statuses(client, "r-4") == [
                    "scheduled:1", "attempt_failed:1:email/smtp:retry=false", "cancelled:1",
                ])
        }
    }

    @Test func aReplacementTakesOverFromTheNextOccurrenceWithANewNumber() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let start = LocalDateTime(date: tomorrow, time: LocalTime(hour: 9, minute: 0)!)
            try await ingest(
                client, [Self.schedule("r-5", key: "k-5", rule: RecurrenceRule(frequency: .daily), start: start)],
                offset: 0)
            let first = try #require(try await claimDue(client).first)
            // Arrives while occurrence 1 is in flight: same start, new time and title.
            let replacement = Self.schedule(
                "r-5", key: "k-5b", rule: RecurrenceRule(frequency: .daily),
                start: LocalDateTime(date: tomorrow, time: LocalTime(hour: 7, minute: 30)!), title: "New")
            try await ingest(client, [replacement], offset: 10)
            _ = try await complete(client, first, .delivered)
            // Not 07:30 on the day already served at 09:00: the first 07:30 after it.
            let day = tomorrow.adding(days: 1)
            let after = try await row(client, "r-5")
            #expect(after.state == "SCHEDULED" && after.occurrence == 2 && after.index == 2)
            #expect(after.local == LocalDateTime(date: day, time: LocalTime(hour: 7, minute: 30)!).description)
            #expect(try await statuses(client, "r-5") == ["scheduled:1", "delivered:1:email/smtp", "scheduled:2"])
            // A replacement while it waits: numbered on, after the last one done.
            try await ingest(
                client,
                [
                    Self.schedule(
                        "r-5", key: "k-5c", rule: RecurrenceRule(frequency: .weekly),
                        start: LocalDateTime(date: tomorrow, time: LocalTime(hour: 18, minute: 0)!))
                ], offset: 20)
            // Its first occurrence, the evening of the day whose 09:00 was the last one done.
            let weekly = try await row(client, "r-5")
            #expect(weekly.occurrence == 3 && weekly.index == 1)
            #expect(
                weekly.local == LocalDateTime(date: tomorrow, time: LocalTime(hour: 18, minute: 0)!).description)
        }
    }

    @Test func expiryEndsTheSeries() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let start = LocalDateTime(date: tomorrow, time: LocalTime(hour: 9, minute: 0)!)
            let expires = RecurrenceCalculator.wallInstant(
                LocalDateTime(date: tomorrow.adding(days: 1), time: LocalTime(hour: 12, minute: 0)!),
                inZone: Self.zone)
            try await ingest(
                client,
                [
                    Self.schedule(
                        "r-6", key: "k-6", rule: RecurrenceRule(frequency: .daily), start: start, expiresAt: expires)
                ], offset: 0)
            for _ in 0..<2 {
                _ = try await complete(client, try #require(try await claimDue(client).first), .delivered)
            }
            #expect(try await row(client, "r-6").state == "DELIVERED")
            #expect(try await row(client, "r-6").occurrence == 2)
        }
    }
}
