import Foundation
import Kafka
import PostgresNIO
import ReminderStore
import TestSupport
import Testing

/// Retention in a running `serve`: with windows of seconds, a delivered reminder, its
/// history, its inbox key and its status records are pruned by the service itself, and
/// the metrics say so.
@Suite(.timeLimit(.minutes(6)))
struct RetentionTests {
    @Test func aDeliveredRemindersRowsArePrunedOnceTheirWindowHasPassedAndTheMetricsSaySo() async throws {
        let sink = try await ProviderSink(lifetime: 180)
        let (topic, _) = try await Topics.make("retention", partitions: 1)
        do {
            try await TestDatabase.withDatabase { client, configuration in
                // Windows of about 4 s (0.00005 days); the topic is said to keep events
                // no longer, or the inbox window would be refused.
                let window = "0.00005"
                let instance = try await ServedInstance(
                    topic: topic, group: "retention-\(UUID().uuidString.prefix(8))",
                    databaseURL: DeadLetteredReminder.databaseURL(configuration),
                    settings: ServiceEvents.settings(sink).merging([
                        "RETENTION_REMINDERS_DAYS": window, "RETENTION_DEAD_LETTERS_DAYS": window,
                        "RETENTION_STATUS_EVENTS_DAYS": window, "RETENTION_INBOX_DAYS": window,
                        "REMINDERS_TOPIC_RETENTION_DAYS": window, "RETENTION_INTERVAL_MS": "500",
                    ]) { $1 })
                try await instance.serving {
                    let producer = try Topics.producer()
                    _ = try await producer.send(
                        ServiceEvents.webhook("pruned-1", url: sink.baseURL + "/hook", topic: topic))
                    await producer.close()
                    try await eventually(.seconds(60), "the reminder to be delivered") {
                        try await sink.requests(path: "/hook").count == 1
                    }
                    try await eventually(.seconds(60), "its rows to be pruned") {
                        try await TestDatabase.count(
                            client,
                            """
                            SELECT (SELECT count(*) FROM reminders) + (SELECT count(*) FROM reminder_transitions)
                                + (SELECT count(*) FROM delivery_attempts) + (SELECT count(*) FROM inbox)
                                + (SELECT count(*) FROM status_events)
                                + (SELECT count(*) FROM published_status_events)
                            """) == 0
                    }
                    for table in ["reminders", "reminder_transitions", "delivery_attempts", "inbox", "status_events"] {
                        let pruned = try await instance.metric(
                            "notification_retention_pruned_rows_total{table=\"\(table)\"}")
                        #expect((pruned ?? 0) >= 1, "\(table)")
                    }
                    try await eventually(.seconds(10), "the oldest-row gauge to show an empty inbox") {
                        try await instance.metric("notification_retention_oldest_row_age_seconds{table=\"inbox\"}") == 0
                    }
                }
            }
        } catch {
            await sink.stop()
            throw error
        }
        await sink.stop()
    }

    /// A pruning call in flight when its connection stops answering is given up after the
    /// policy's call limit, not waited for (a graceful shutdown waited with it), and the
    /// next round, on a connection that answers, prunes what the first could not.
    @Test func aPruningCallThatNeverAnswersIsGivenUpAndTheNextRoundPrunes() async throws {
        try await TestDatabase.withDatabase { client, configuration in
            let proxy = try await DatabaseOutageTests.Proxy(targetPort: configuration.port)
            try #require(proxy.port > 0)
            var viaProxy = configuration
            viaProxy.port = proxy.port
            try await TestDatabase.withClient(viaProxy) { proxied in
                try await client.query(
                    """
                    INSERT INTO inbox (idempotency_key, payload_sha256, reminder_id, source_partition, source_offset,
                        received_at)
                    SELECT 'old-' || n, sha256('x'), 'r-' || n, 0, n, now() - interval '2 days'
                    FROM generate_series(1, 30) n
                    """)
                let store = RetentionStore(client: proxied, logger: TestDatabase.logger)
                let policy = RetentionStore.Policy(
                    reminders: nil, deadLetters: nil, inbox: .seconds(86_400), statusEvents: nil, keepHistory: false,
                    batchSize: 10, statementTimeout: .milliseconds(200))
                // A connection in the pool, then nothing passes on it any more.
                #expect(try await TestDatabase.count(proxied, "SELECT count(*) FROM inbox") == 30)
                proxy.freeze()
                let clock = ContinuousClock()
                let started = clock.now
                await #expect(throws: StoreError.self) { try await store.prune(policy) }
                let waited = clock.now - started
                #expect(waited >= policy.callLimit && waited < policy.callLimit + .seconds(20), "\(waited)")
                proxy.restore()
                let pruned = try await store.prune(policy)
                #expect(pruned?[.inbox] == 30)
                #expect(try await TestDatabase.count(client, "SELECT count(*) FROM inbox") == 0)
            }
        }
    }
}
