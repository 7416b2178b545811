import Delivery
import Foundation
import PostgresNIO
import ReminderCore
import ReminderStore
import TestSupport
import Testing

/// A send that falls due inside the user's quiet hours after ingest chose its time (a
/// retry, a replay, a takeover): the dispatcher postpones it to their end without sending,
/// against PostgreSQL and a loopback receiver.
@Suite(.timeLimit(.minutes(6)))
struct QuietHoursDispatchTests {
    /// Quiet hours around now in `zone`: from a minute ago to two minutes on, in whole
    /// minutes of the zone's wall clock; and when they end.
    private func quietNow(in zone: String) -> (start: String, end: String, ends: Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: zone)!
        let now = Date()
        func hhmm(_ date: Date) -> String {
            let parts = calendar.dateComponents([.hour, .minute], from: date)
            return String(format: "%02d:%02d", parts.hour!, parts.minute!)
        }
        let end = now.addingTimeInterval(180)
        let endsAt = calendar.dateInterval(of: .minute, for: end)!.start
        return (hhmm(now.addingTimeInterval(-60)), hhmm(end), endsAt)
    }

    @Test func aRetryDueInsideQuietHoursInTheUsersZoneIsPostponedToTheirEndUnsent() async throws {
        let sink = try await ProviderSink(lifetime: 150)
        defer { Task { await sink.stop() } }
        let zone = "Asia/Kathmandu"  // UTC+05:45: the minutes are the zone's, not UTC's
        let quiet = quietNow(in: zone)
        try await TestDatabase.withDatabase { client, configuration in
            let event = EventFixtures.json([
                "schema_version": 1, "type": "schedule", "idempotency_key": "q-1", "reminder_id": "quiet-0",
                "user_id": "user-0", "deliver_at": RFC3339Text.format(Date()), "timezone": zone,
                "quiet_hours": ["start": quiet.start, "end": quiet.end],
                "channels": [["type": "webhook", "url": sink.baseURL + "/quiet"]],
                "content": ["title": "t", "body": "b"],
            ])
            _ = try await IngestStore(client: client, logger: TestDatabase.logger).ingest([
                IngestRecord(
                    topic: "reminders", partition: 0, offset: 0, key: nil, value: event, headers: [],
                    decoded: .valid(try ReminderEventDecoder.decode(event)))
            ])
            // Ingest deferred it to the quiet hours' end; a retry falls due now, inside them.
            let deferred = try await client.query(
                "SELECT extract(epoch FROM due_at)::float8 FROM reminders", logger: TestDatabase.logger
            ).collect().first!.decode(Double.self)
            #expect(abs(deferred - quiet.ends.timeIntervalSince1970) < 1)
            try await client.query(
                "UPDATE reminders SET state = 'RETRY', due_at = now() - interval '1 second'",
                logger: TestDatabase.logger)
            let harness = try DispatchHarness(database: client, configuration: configuration, caFile: sink.caFile) {
                ProviderDirectory(webhook: DispatchHarness.guarded(DispatchHarness.webhook($0)))
            }
            try await eventually(.seconds(30), "the retry to be postponed") {
                try await TestDatabase.count(
                    client, "SELECT count(*)::int8 FROM reminder_history WHERE event = 'postpone'") == 1
            }
            await harness.stop()
            let row = try await client.query(
                "SELECT state, extract(epoch FROM due_at)::float8 FROM reminders", logger: TestDatabase.logger
            ).collect().first!.decode((String, Double).self)
            #expect(row.0 == "SCHEDULED")
            // Due again when the quiet hours end: never before (the clocks agree here); the
            // wait is counted from the dispatcher's decision and recorded against the
            // database's clock, so a slow recording on a loaded machine makes it later by
            // that much, never earlier.
            #expect(row.1 >= quiet.ends.timeIntervalSince1970 - 0.5)
            #expect(row.1 < quiet.ends.timeIntervalSince1970 + 30)
            #expect(try await sink.requests(path: "/quiet").isEmpty)
        }
    }
}
