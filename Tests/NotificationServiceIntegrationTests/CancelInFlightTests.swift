import Delivery
import Foundation
import Kafka
import PostgresNIO
import ReminderCore
import ReminderStore
import TestSupport
import Testing

/// A cancel or replace published while its reminder's send is in flight, end to end: the
/// events go through the broker and the ingest pipeline, the dispatcher sends to a
/// loopback receiver that answers slowly, and PostgreSQL holds the change until the
/// attempt's outcome decides.
@Suite(.timeLimit(.minutes(6)))
struct CancelInFlightTests {
    static let quickRetry = RetryPolicy(
        initialDelay: .milliseconds(200), multiplier: 2, maximumDelay: .seconds(2), maximumAttempts: 5, jitter: 0)

    private func schedule(_ sink: ProviderSink, _ path: String, key: String, title: String) -> [UInt8] {
        EventFixtures.json([
            "schema_version": 1, "type": "schedule", "idempotency_key": key, "reminder_id": "race-0",
            "user_id": "user-0", "deliver_at": RFC3339Text.format(Date()),
            "channels": [["type": "webhook", "url": sink.baseURL + path]],
            "content": ["title": title, "body": "b"],
        ])
    }

    private var cancel: [UInt8] {
        EventFixtures.json([
            "schema_version": 1, "type": "cancel", "idempotency_key": "cancel-1", "reminder_id": "race-0",
            "user_id": "user-0",
        ])
    }

    /// Runs ingest and one dispatcher; publishes `first`, waits until its send reached the
    /// receiver, publishes `second` and waits until it waits on the reminder, then hands
    /// over to `check` once the reminder's state is `final`.
    private func race(
        _ sink: ProviderSink, firstPath: String, first: [UInt8], second: [UInt8], final: String,
        check: (PostgresClient) async throws -> Void
    ) async throws {
        let (topic, dlq) = try await Topics.make("in-flight", partitions: 1)
        try await TestDatabase.withDatabase { client, configuration in
            let producer = try Topics.producer()
            func publish(_ value: [UInt8]) async throws {
                let message = KafkaProducerMessage(topic: topic, partition: 0, key: Array("user-0".utf8), value: value)
                for result in await producer.send([message]) { _ = try result.get() }
            }
            let ingest = try ServiceInstance(
                database: client, topic: topic, dlqTopic: dlq, groupID: "in-flight-\(topic)")
            let dispatch = try DispatchHarness(
                database: client, configuration: configuration, caFile: sink.caFile, httpTimeout: .seconds(30)
            ) {
                ProviderDirectory(
                    webhook: DispatchHarness.guarded(DispatchHarness.webhook($0)), defaultRetryPolicy: Self.quickRetry)
            }
            do {
                try await publish(first)
                try await eventually(.seconds(60), "the send to reach the receiver") {
                    try await sink.requests(path: firstPath).count == 1
                }
                // The receiver holds the send for 25 s: the change is stored meanwhile (10 s was too short
                // for ingest to store it while the whole suite loaded the machine).
                try await publish(second)
                try await eventually(.seconds(30), "the change to wait on the reminder in flight") {
                    try await TestDatabase.count(
                        client, "SELECT count(*)::int8 FROM reminders WHERE pending_change IS NOT NULL") == 1
                }
                try await eventually(.seconds(60), "the reminder to end \(final)") {
                    try await DispatchHarness.states(client) == [final: 1]
                }
                // Long enough for a retry of the failed attempt (200 ms) to have been sent.
                try await Task.sleep(for: .seconds(1))
            } catch {
                await dispatch.stop()
                try? await ingest.stop()
                await producer.close()
                throw error
            }
            await dispatch.stop()
            try await ingest.stop()
            await producer.close()
            try await check(client)
        }
    }

    private func events(_ client: PostgresClient) async throws -> [String] {
        var events: [String] = []
        let rows = try await client.query(
            "SELECT event || ':' || to_state FROM reminder_history ORDER BY id", logger: DispatchHarness.logger)
        for try await event in rows.decode(String.self) { events.append(event) }
        return events
    }

    @Test func aCancelPublishedDuringAFailingSendEndsItCancelledWithNoFurtherSend() async throws {
        let sink = try await ProviderSink(lifetime: 180)
        defer { Task { await sink.stop() } }
        try await sink.script("/slow", [ProviderSink.Response(status: 503, delayMilliseconds: 25_000)], then: .ok)
        try await race(
            sink, firstPath: "/slow", first: schedule(sink, "/slow", key: "s-1", title: "Old"), second: cancel,
            final: "CANCELLED"
        ) { (client: PostgresClient) async throws in
            #expect(try await sink.requests(path: "/slow").count == 1)
            #expect(
                try await events(client) == [
                    "schedule:SCHEDULED", "claim:SENDING", "cancel:SENDING", "fail:FAILED", "cancel:CANCELLED",
                ])
        }
    }

    @Test func aReplacePublishedDuringAFailingSendIsDeliveredOnceWithItsNewContentOnly() async throws {
        let sink = try await ProviderSink(lifetime: 180)
        defer { Task { await sink.stop() } }
        try await sink.script("/slow", [ProviderSink.Response(status: 503, delayMilliseconds: 25_000)], then: .ok)
        try await race(
            sink, firstPath: "/slow", first: schedule(sink, "/slow", key: "s-1", title: "Old"),
            second: schedule(sink, "/new", key: "s-2", title: "New"), final: "DELIVERED"
        ) { (client: PostgresClient) async throws in
            #expect(try await sink.requests(path: "/slow").count == 1)
            let sent = try await sink.requests(path: "/new")
            #expect(sent.count == 1)
            #expect(sent.first?.bodyText.contains("New") == true)
            #expect(sent.first?.bodyText.contains("Old") == false)
            #expect(
                try await events(client) == [
                    "schedule:SCHEDULED", "claim:SENDING", "replace:SENDING", "fail:FAILED", "replace:SCHEDULED",
                    "claim:SENDING", "deliver:DELIVERED",
                ])
        }
    }

    @Test func aCancelPublishedDuringASendTheProviderAcceptsComesTooLateAndTheHistorySaysSo() async throws {
        let sink = try await ProviderSink(lifetime: 180)
        defer { Task { await sink.stop() } }
        try await sink.script("/slow", [ProviderSink.Response(status: 200, delayMilliseconds: 25_000)], then: .ok)
        try await race(
            sink, firstPath: "/slow", first: schedule(sink, "/slow", key: "s-1", title: "Old"), second: cancel,
            final: "DELIVERED"
        ) { (client: PostgresClient) async throws in
            #expect(try await sink.requests(path: "/slow").count == 1)
            #expect(
                try await events(client) == [
                    "schedule:SCHEDULED", "claim:SENDING", "cancel:SENDING", "deliver:DELIVERED", "cancel:DELIVERED",
                ])
            let detail = try await client.query(
                "SELECT detail FROM reminder_history ORDER BY id DESC LIMIT 1", logger: DispatchHarness.logger
            ).collect().first?.decode(String?.self)
            #expect(detail == CompletionPlanner.tooLateDetail)
        }
    }
}
