import Foundation
import Kafka
import Logging
import NotificationService
import PostgresNIO
import TestSupport
import Testing

/// Two instances' relays on one outbox (the status outbox, the dead-letter outbox),
/// against the test broker and a test database: one publishes at a time (the outbox's
/// lease), so every record reaches its topic once (and each reminder's status records in
/// order); when the holder stops, the other takes over at once rather than when the lease
/// would have expired.
@Suite(.timeLimit(.minutes(4)))
struct OutboxRelayLeaseTests {
    private static let logger: Logger = {
        var logger = Logger(label: "outbox-relay-lease")
        logger.logLevel = .warning
        return logger
    }()

    /// One instance's relay: who it is to the lease, and its run.
    private struct Relay {
        let holder: String
        let run: @Sendable () async throws -> Void
    }

    /// Rounds written before the holder stops; one more is written after.
    private static let rounds = 25
    /// Records of a round.
    private static let perRound = 40

    /// Two instances' relays, each built by `relay` from the instance's assembly and
    /// settings (the test's topics, broker and database).
    private static func twoInstances(
        topic: String, dlq: String, _ relay: (ServiceAssembly, ServiceSettings) throws -> Relay
    ) throws -> [Relay] {
        let settings = try ServiceSettings.fromEnvironment([
            "KAFKA_BOOTSTRAP_SERVERS": LocalStack.kafkaBootstrapServers, "DATABASE_URL": LocalStack.databaseURL,
            "REMINDERS_TOPIC": topic, "DEAD_LETTER_TOPIC": dlq,
            "NOTIFICATION_MIGRATIONS_DIR": TestDatabase.migrations.path,
        ])
        return try (0..<2).map { _ in try relay(ServiceAssembly(settings: settings, logger: logger), settings) }
    }

    /// Small batches read often: two relays without a lease read the same records.
    private static func often(_ configuration: OutboxRelayConfiguration) -> OutboxRelayConfiguration {
        var configuration = configuration
        configuration.idleInterval = .milliseconds(20)
        configuration.batchSize = 30
        return configuration
    }

    private static func leaseHolder(_ client: PostgresClient, of outbox: String) async throws -> String {
        try await client.query(
            "SELECT holder FROM outbox_leases WHERE outbox = \(outbox)", logger: logger
        ).collect().first!.decode(String.self)
    }

    /// Runs both relays while `round` (its number in, the statement out) adds `rounds`
    /// rounds to the outbox, waits until `unpublished` counts 0, stops the holder, writes
    /// one more round and checks that the other relay publishes it and holds the lease;
    /// then stops that one too (the lease given up).
    private static func twoRelaysTakeTurns(
        _ relays: [Relay], outbox: String, client: PostgresClient, round: (Int) -> PostgresQuery,
        unpublished: String
    ) async throws {
        func write(_ number: Int) async throws { try await client.query(round(number), logger: logger) }
        func unpublishedCount() async throws -> Int { try await TestDatabase.count(client, unpublished) }
        let running = relays.map { relay in Task { try await relay.run() } }
        for number in 0..<rounds {
            try await write(number)
            try await Task.sleep(for: .milliseconds(10))
        }
        try await eventually(.seconds(60), "the outbox to be published") { try await unpublishedCount() == 0 }
        // The holder stops: it gives the lease up, and the other publishes what comes next
        // well before the lease (30 s) would have expired.
        let holder = try await leaseHolder(client, of: outbox)
        let stopping = try #require(relays.firstIndex { $0.holder == holder })
        running[stopping].cancel()
        try await running[stopping].value
        try await write(rounds)
        try await eventually(.seconds(15), "the other relay to publish the records written after") {
            try await unpublishedCount() == 0
        }
        #expect(try await leaseHolder(client, of: outbox) == relays[1 - stopping].holder)
        running[1 - stopping].cancel()
        try await running[1 - stopping].value
        #expect(try await leaseHolder(client, of: outbox) == "")
    }

    /// Everything on `topic` once both relays stopped: a marker (no value) is produced at
    /// the end of each partition, and the topic is read up to the markers.
    private static func published(on topic: String, partitions: Int32) async throws -> [KafkaMessage] {
        let producer = try Topics.producer()
        for result in await producer.send(
            (0..<partitions).map { KafkaProducerMessage(topic: topic, partition: $0, key: nil, value: nil) })
        {
            _ = try result.get()
        }
        await producer.close()
        let reader = try Topics.reader(of: topic)
        var messages: [KafkaMessage] = []
        var markers = 0
        for try await message in reader.messages {
            guard message.value != nil else {
                markers += 1
                if markers == partitions { break } else { continue }
            }
            messages.append(message)
        }
        await reader.close()
        return messages
    }

    @Test func twoStatusRelaysPublishEachRecordOnceInOrderAndTheSecondTakesOverAtOnceWhenTheFirstStops()
        async throws
    {
        let partitions: Int32 = 3
        let (topic, dlq) = try await Topics.make("lease", partitions: partitions)
        let statusTopic = topic + ".status"
        try await TestDatabase.withDatabase { client, _ in
            let relays = try Self.twoInstances(topic: topic, dlq: dlq) { assembly, settings in
                let relay = try assembly.statusRelay(
                    database: client, configuration: Self.often(settings.statusRelayConfiguration))
                return Relay(holder: relay.holder, run: relay.run)
            }
            // One record for each reminder of 4 users a round, in one transaction, as a
            // state change's statement writes them.
            try await Self.twoRelaysTakeTurns(
                relays, outbox: "status_events", client: client,
                round: { _ in
                    """
                    INSERT INTO status_events (reminder, reminder_id, user_id, type)
                    SELECT g, 'r-' || g, 'user-' || (g % 4), 'scheduled'
                    FROM generate_series(1, \(Self.perRound)) g
                    """
                }, unpublished: "SELECT count(*)::int8 FROM status_events")

            var records: [(id: String, reminder: String, sequence: Int)] = []
            for message in try await Self.published(on: statusTopic, partitions: partitions) {
                let json = try #require(try JSONSerialization.jsonObject(with: Data(message.value!)) as? [String: Any])
                records.append((json["id"] as! String, json["reminder_id"] as! String, json["sequence"] as! Int))
            }
            #expect(records.count == (Self.rounds + 1) * Self.perRound)
            #expect(Set(records.map(\.id)).count == records.count, "no record published twice")
            var order: [String: [Int]] = [:]
            for record in records { order[record.reminder, default: []].append(record.sequence) }
            #expect(order.count == Self.perRound)
            for (reminder, sequences) in order {
                #expect(sequences == sequences.sorted() && sequences.count == Self.rounds + 1, "\(reminder)")
            }
        }
    }

    @Test func twoDeadLetterRelaysPublishEachDeadLetterOnceAndTheSecondTakesOverAtOnceWhenTheFirstStops()
        async throws
    {
        let partitions: Int32 = 3
        let (topic, dlq) = try await Topics.make("dlq-lease", partitions: partitions)
        try await TestDatabase.withDatabase { client, _ in
            let relays = try Self.twoInstances(topic: topic, dlq: dlq) { assembly, settings in
                let relay = try assembly.deadLetterRelay(
                    database: client, configuration: Self.often(settings.relayConfiguration))
                return Relay(holder: relay.holder, run: relay.run)
            }
            // A round's dead letters in one transaction, as a batch of outcomes writes them:
            // each names its original message (topic, partition, offset) and carries it.
            try await Self.twoRelaysTakeTurns(
                relays, outbox: "dead_letters", client: client,
                round: { round in
                    """
                    INSERT INTO dead_letters (reason, error, attempts, original_topic, original_partition,
                        original_offset, message_key, message_value)
                    SELECT 'delivery_exhausted', 'HTTP 503', 5, \(topic), g % \(partitions),
                        \(round * Self.perRound) + g, convert_to('user-' || (g % 4), 'UTF8'),
                        convert_to('{"n":' || (\(round * Self.perRound) + g) || '}', 'UTF8')
                    FROM generate_series(1, \(Self.perRound)) g
                    """
                }, unpublished: "SELECT count(*)::int8 FROM dead_letters WHERE published_at IS NULL")

            let messages = try await Self.published(on: dlq, partitions: partitions)
            let total = (Self.rounds + 1) * Self.perRound
            #expect(messages.count == total)
            let ids = messages.map { $0.header("x-dlq-id")?.value.map { String(decoding: $0, as: UTF8.self) } }
            #expect(!ids.contains(nil), "every dead letter carries its x-dlq-id")
            #expect(Set(ids).count == messages.count, "no dead letter published twice")
            let offsets = Set(messages.compactMap { $0.header("x-original-offset")?.value })
            #expect(offsets.count == total, "every dead letter published")
            #expect(try await TestDatabase.count(client, "SELECT count(*)::int8 FROM dead_letters") == total)
        }
    }
}
