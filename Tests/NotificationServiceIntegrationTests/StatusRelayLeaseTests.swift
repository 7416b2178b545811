import Foundation
import Kafka
import Logging
import NotificationService
import PostgresNIO
import TestSupport
import Testing

/// Two instances' status relays on one outbox, against the test broker and a test
/// database: one publishes at a time (the outbox's lease), so every record reaches the
/// status topic once and each reminder's records in order; when the holder stops, the
/// other takes over at once rather than when the lease would have expired.
@Suite(.timeLimit(.minutes(4)))
struct StatusRelayLeaseTests {
    private static let logger: Logger = {
        var logger = Logger(label: "status-relay-lease")
        logger.logLevel = .warning
        return logger
    }()

    /// One record for each of 40 reminders of 4 users, in one transaction, as a state
    /// change's statement writes them.
    private static func writeRound(_ client: PostgresClient) async throws {
        try await client.query(
            """
            INSERT INTO status_events (reminder, reminder_id, user_id, type)
            SELECT g, 'r-' || g, 'user-' || (g % 4), 'scheduled' FROM generate_series(1, 40) g
            """, logger: logger)
    }

    private static func unpublished(_ client: PostgresClient) async throws -> Int {
        try await TestDatabase.count(client, "SELECT count(*)::int8 FROM status_events")
    }

    private static func leaseHolder(_ client: PostgresClient) async throws -> String {
        try await client.query(
            "SELECT holder FROM outbox_leases WHERE outbox = 'status_events'", logger: logger
        ).collect().first!.decode(String.self)
    }

    @Test func twoRelaysPublishEachRecordOnceInOrderAndTheSecondTakesOverAtOnceWhenTheFirstStops() async throws {
        let partitions: Int32 = 3
        let (topic, dlq) = try await Topics.make("lease", partitions: partitions)
        let statusTopic = topic + ".status"
        try await TestDatabase.withDatabase { client, _ in
            let settings = try ServiceSettings.fromEnvironment([
                "KAFKA_BOOTSTRAP_SERVERS": LocalStack.kafkaBootstrapServers, "DATABASE_URL": LocalStack.databaseURL,
                "REMINDERS_TOPIC": topic, "DEAD_LETTER_TOPIC": dlq,
                "NOTIFICATION_MIGRATIONS_DIR": TestDatabase.migrations.path,
            ])
            // Small batches read often: two relays without a lease read the same records.
            var configuration = settings.statusRelayConfiguration
            configuration.idleInterval = .milliseconds(20)
            configuration.batchSize = 30
            let assembly = ServiceAssembly(settings: settings, logger: Self.logger)
            let relays = try (0..<2).map { _ in
                try assembly.statusRelay(database: client, configuration: configuration)
            }
            let running = relays.map { relay in Task { try await relay.run() } }
            for _ in 0..<25 {
                try await Self.writeRound(client)
                try await Task.sleep(for: .milliseconds(10))
            }
            try await eventually(.seconds(60), "the outbox to be published") {
                try await Self.unpublished(client) == 0
            }
            // The holder stops: it gives the lease up, and the other publishes what comes
            // next well before the lease (30 s) would have expired.
            let holder = try await Self.leaseHolder(client)
            let stopping = try #require(relays.firstIndex { $0.holder == holder })
            running[stopping].cancel()
            try await running[stopping].value
            try await Self.writeRound(client)
            try await eventually(.seconds(15), "the other relay to publish the records written after") {
                try await Self.unpublished(client) == 0
            }
            #expect(try await Self.leaseHolder(client) == relays[1 - stopping].holder)
            running[1 - stopping].cancel()
            try await running[1 - stopping].value
            #expect(try await Self.leaseHolder(client) == "")

            // Both stopped: a marker at the end of each partition, then the whole topic.
            let producer = try Topics.producer()
            for result in await producer.send(
                (0..<partitions).map { KafkaProducerMessage(topic: statusTopic, partition: $0, key: nil, value: nil) })
            {
                _ = try result.get()
            }
            await producer.close()
            let reader = try Topics.reader(of: statusTopic)
            var records: [(id: String, reminder: String, sequence: Int)] = []
            var markers = 0
            for try await message in reader.messages {
                guard let value = message.value else {
                    markers += 1
                    if markers == partitions { break } else { continue }
                }
                let json = try #require(try JSONSerialization.jsonObject(with: Data(value)) as? [String: Any])
                records.append(
                    (json["id"] as! String, json["reminder_id"] as! String, json["sequence"] as! Int))
            }
            await reader.close()
            #expect(records.count == 26 * 40)
            #expect(Set(records.map(\.id)).count == records.count, "no record published twice")
            var order: [String: [Int]] = [:]
            for record in records { order[record.reminder, default: []].append(record.sequence) }
            #expect(order.count == 40)
            for (reminder, sequences) in order {
                #expect(sequences == sequences.sorted() && sequences.count == 26, "\(reminder)")
            }
        }
    }
}
