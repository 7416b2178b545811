import Delivery
import Foundation
import PostgresNIO
import ReminderCore
import ReminderStore
import TestSupport
import Testing

/// A recurring reminder sent by a dispatcher to a loopback HTTPS receiver, with time moved
/// on by moving due times in PostgreSQL: each occurrence reaches the receiver under its own
/// idempotency key, once, and a cancel that reaches an occurrence in flight ends the series.
@Suite(.timeLimit(.minutes(6)))
struct RecurringDispatchTests {
    static let quickRetry = RetryPolicy(
        initialDelay: .milliseconds(200), multiplier: 2, maximumDelay: .seconds(2), maximumAttempts: 5, jitter: 0)

    private static func tomorrowAtNine() -> LocalDateTime {
        LocalDateTime(date: .tomorrow(in: "Europe/Berlin"), time: LocalTime(hour: 9, minute: 0)!)
    }

    private func schedule(_ client: PostgresClient, url: String, count: Int) async throws {
        let event = ReminderEvent(
            idempotencyKey: "k-daily", reminderID: "daily-1", userID: "user-d", correlationID: "corr-daily",
            action: .schedule(
                ReminderSchedule(
                    timeZone: "Europe/Berlin", deliverAt: .local(Self.tomorrowAtNine()), channels: [.webhook(url: url)],
                    content: Content(title: "Stand-up notes", body: "due today", data: nil), quietHours: nil,
                    expiresAt: nil, recurrence: RecurrenceRule(frequency: .daily, end: .count(count)))))
        try await ingest(client, event, offset: 0)
    }

    private func ingest(_ client: PostgresClient, _ event: ReminderEvent, offset: Int64) async throws {
        _ = try await IngestStore(client: client, logger: DispatchHarness.logger).ingest([
            IngestRecord(
                topic: "reminders", partition: 0, offset: offset, key: Array("user-d".utf8),
                value: Array("{}".utf8), headers: [], decoded: .valid(event))
        ])
    }

    /// The clock moves on to the next occurrence: whatever waits is due now, and the
    /// dispatchers are told.
    private func moveTimeOn(_ client: PostgresClient) async throws {
        try await client.query(
            """
            WITH moved AS (UPDATE reminders SET due_at = now() WHERE state = 'SCHEDULED' AND due_at > now() RETURNING id)
            SELECT pg_notify(\(DispatchStore.wakeChannel), '') FROM moved LIMIT 1
            """, logger: DispatchHarness.logger)
    }

    private func reminder(_ client: PostgresClient) async throws -> (state: String, occurrence: Int) {
        try await client.query(
            "SELECT state, occurrence FROM reminders WHERE reminder_id = 'daily-1'", logger: DispatchHarness.logger
        ).collect().first!.decode((String, Int).self)
    }

    private func statuses(_ client: PostgresClient) async throws -> [String] {
        var lines: [String] = []
        let rows = try await client.query(
            """
            SELECT type || ':' || occurrence || coalesce(':retry=' || will_retry::text, '')
            FROM status_events ORDER BY seq
            """, logger: DispatchHarness.logger)
        for try await line in rows.decode(String.self) { lines.append(line) }
        return lines
    }

    private static func key(_ request: ProviderSink.Request) -> String? {
        request.headers.first { $0.key.lowercased() == "idempotency-key" }?.value
    }

    @Test func eachOccurrenceReachesTheReceiverOnceUnderItsOwnKeyAlsoAfterATransientFailure() async throws {
        let sink = try await ProviderSink(lifetime: 150)
        defer { Task { await sink.stop() } }
        // Occurrence 1 accepted; occurrence 2 refused once (503), then accepted; occurrence 3 accepted.
        try await sink.script("/daily", [.ok, .status(503)], then: .ok)
        try await TestDatabase.withDatabase { client, configuration in
            try await schedule(client, url: sink.baseURL + "/daily", count: 3)
            let dispatch = try DispatchHarness(
                database: client, configuration: configuration, caFile: sink.caFile, httpTimeout: .seconds(30)
            ) {
                ProviderDirectory(
                    webhook: DispatchHarness.guarded(DispatchHarness.webhook($0)), defaultRetryPolicy: Self.quickRetry)
            }
            do {
                try await eventually(.seconds(90), "the series to end with its third occurrence delivered") {
                    try await moveTimeOn(client)
                    let now = try await reminder(client)
                    return now.state == "DELIVERED" && now.occurrence == 3
                }
                // Long enough for any send that should not happen.
                try await moveTimeOn(client)
                try await Task.sleep(for: .seconds(1))
            } catch {
                await dispatch.stop()
                throw error
            }
            await dispatch.stop()
            let requests = try await sink.requests(path: "/daily")
            #expect(requests.map(Self.key) == ["daily-1#1", "daily-1#2", "daily-1#2", "daily-1#3"])
            #expect(requests.map { $0.json?["occurrence"] as? Int } == [1, 2, 2, 3])
            #expect(
                try await statuses(client) == [
                    "scheduled:1", "delivered:1", "scheduled:2", "attempt_failed:2:retry=true", "delivered:2",
                    "scheduled:3", "delivered:3",
                ])
        }
    }

    /// A cancel published while an occurrence is being sent: accepted, that occurrence
    /// was delivered and none follows; refused, the cancel applies at once.
    @Test(arguments: [200, 503])
    func aCancelDuringAnOccurrencesSendEndsTheSeries(answer: Int) async throws {
        let sink = try await ProviderSink(lifetime: 150)
        defer { Task { await sink.stop() } }
        try await sink.script("/slow", [ProviderSink.Response(status: answer, delayMilliseconds: 5_000)], then: .ok)
        try await TestDatabase.withDatabase { client, configuration in
            try await schedule(client, url: sink.baseURL + "/slow", count: 5)
            let dispatch = try DispatchHarness(
                database: client, configuration: configuration, caFile: sink.caFile, httpTimeout: .seconds(30)
            ) {
                ProviderDirectory(
                    webhook: DispatchHarness.guarded(DispatchHarness.webhook($0)), defaultRetryPolicy: Self.quickRetry)
            }
            do {
                try await moveTimeOn(client)
                try await eventually(.seconds(60), "the first occurrence to reach the receiver") {
                    try await sink.requests(path: "/slow").count == 1
                }
                try await ingest(
                    client,
                    ReminderEvent(
                        idempotencyKey: "c-daily", reminderID: "daily-1", userID: "user-d", correlationID: nil,
                        action: .cancel), offset: 1)
                let final = answer == 200 ? "DELIVERED" : "CANCELLED"
                try await eventually(.seconds(60), "the series to end \(final)") {
                    try await reminder(client).state == final
                }
                // Time moves on: nothing is due, nothing more is sent.
                try await moveTimeOn(client)
                try await Task.sleep(for: .seconds(1))
            } catch {
                await dispatch.stop()
                throw error
            }
            await dispatch.stop()
            #expect(try await sink.requests(path: "/slow").count == 1)
            #expect(try await reminder(client).occurrence == 1)
            #expect(
                try await statuses(client)
                    == (answer == 200
                        ? ["scheduled:1", "delivered:1", "cancelled:1"]
                        : ["scheduled:1", "attempt_failed:1:retry=false", "cancelled:1"]))
        }
    }
}
