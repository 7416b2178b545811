import ArgumentParser
import BenchmarkSupport
import Foundation
import Kafka
import Logging
import NIOCore
import PostgresNIO
import ReminderStore

/// Measures the ingest path as it runs in production, a `notification-service serve`
/// process, against a plain batched `INSERT … ON CONFLICT DO NOTHING` of the same rows
/// into the same database, measured in the same run; prints both, the ratio, and the
/// service's peak RSS.
@main
struct IngestBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest-benchmark",
        abstract: "Ingest throughput of the service against raw batched inserts, and its peak memory.",
        discussion:
            "Run it through scripts/bench-ingest.sh, which starts the broker and database and builds in release mode."
    )

    @OptionGroup var target: ServiceUnderTest

    @Option(help: "Events to publish (one in ten repeats the previous event's key and bytes).")
    var events = 1_000_000

    @Option(help: "Partitions of the topic.")
    var partitions: Int32 = 8

    @Option(help: "Events per INSERT batch of the baseline.")
    var baselineBatch = 500

    func run() async throws {
        let logger = Logger(label: "ingest-benchmark")
        let runID = UUID().uuidString.prefix(8).lowercased()
        let topic = "ingest-bench-\(runID)"
        let client = KafkaClientConfiguration(
            bootstrapServers: target.bootstrapServers.split(separator: ",").map(String.init))
        let kafkaAdmin = try KafkaAdmin(configuration: client)
        try await kafkaAdmin.createTopic(topic, partitions: partitions)
        try await kafkaAdmin.createTopic(topic + ".dlq", partitions: partitions)
        try await kafkaAdmin.createTopic(topic + ".status", partitions: partitions)

        let unique = try await publish(topic: topic, client: client)
        say("published \(events) events (\(unique) distinct keys) to \(topic)")

        var admin = try DatabaseConfiguration(url: target.databaseURL)
        let database = "bench_\(runID)"
        _ = try await admin.withClient {
            try await $0.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(database)"), logger: logger)
        }
        admin.database = database
        var url = URLComponents(string: target.databaseURL)!
        url.path = "/" + database

        let (serviceRate, peakRSS) = try await measureService(
            topic: topic, databaseURL: url.string!, client: client, admin: admin, unique: unique)
        let baselineRate = try await measureBaseline(admin, logger: logger)
        say("")
        say("service ingest:            \(Int(serviceRate)) events/s (\(events) events, \(unique) distinct keys)")
        say(
            "baseline batched insert:   \(Int(baselineRate)) events/s (inbox + reminder rows, \(baselineBatch) per INSERT, one connection)"
        )
        say(String(format: "ratio service / baseline:  %.2f  (target ≥ 0.5)", serviceRate / baselineRate))
        say(String(format: "service peak RSS:          %.1f MiB  (target < 150 MiB)", Double(peakRSS) / 1024))
        guard target.alsoEncrypted else { return }
        // The same events again, into a database of its own, with the personal fields sealed.
        let sealedURL = try await target.createDatabase("\(database)_sealed")
        var sealedAdmin = admin
        sealedAdmin.database = "\(database)_sealed"
        let (sealedRate, sealedPeak) = try await measureService(
            topic: topic, databaseURL: sealedURL, client: client, admin: sealedAdmin, unique: unique,
            settings: ServiceUnderTest.encryptionSettings())
        say("")
        say("service ingest, sealed:    \(Int(sealedRate)) events/s (DATA_ENCRYPTION_KEYS set)")
        say(String(format: "ratio sealed / plaintext:  %.2f", sealedRate / serviceRate))
        say(String(format: "service peak RSS, sealed:  %.1f MiB", Double(sealedPeak) / 1024))
    }

    static func event(_ index: Int) -> [UInt8] {
        Array(
            """
            {"schema_version":1,"type":"schedule","idempotency_key":"bench-\(index)","reminder_id":"reminder-\(index)",\
            "user_id":"user-\(index % 10_000)","timezone":"Europe/Berlin","deliver_at":"2030-01-01T09:00:00+01:00",\
            "channels":[{"type":"push","platform":"fcm","token":"token-\(index)"},{"type":"email","to":"user\(index)@example.com"}],\
            "content":{"title":"Reminder number \(index)","body":"Your appointment is tomorrow at nine.","data":{"id":\(index)}}}
            """.utf8)
    }

    /// Event `index`, except that every tenth repeats the previous one.
    static func source(_ index: Int) -> Int { index % 10 == 9 ? index - 1 : index }

    private func publish(topic: String, client: KafkaClientConfiguration) async throws -> Int {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        var distinct = 0
        for start in stride(from: 0, to: events, by: 10_000) {
            let batch = (start..<min(start + 10_000, events)).map { index -> KafkaProducerMessage in
                let source = Self.source(index)
                if source == index { distinct += 1 }
                return KafkaProducerMessage(
                    topic: topic, key: Array("user-\(source % 10_000)".utf8), value: Self.event(source))
            }
            for result in await producer.send(batch) { _ = try result.get() }
        }
        await producer.close()
        return distinct
    }

    private func measureService(
        topic: String, databaseURL: String, client: KafkaClientConfiguration, admin: DatabaseConfiguration, unique: Int,
        settings: [String: String] = [:]
    ) async throws -> (Double, Int) {
        let group = "ingest-bench-\(UUID().uuidString.prefix(8))"
        let process = try target.launch(topic: topic, group: group, databaseURL: databaseURL, settings: settings)
        let reader = try KafkaConsumer(configuration: KafkaConsumerConfiguration(client: client, groupID: group))
        let topicPartitions = (0..<partitions).map { KafkaTopicPartition(topic: topic, partition: $0) }
        var start: ContinuousClock.Instant?
        let deadline = ContinuousClock.now + .seconds(900)
        var stored = 0
        try await admin.withClient { database in
            while ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(250))
                stored =
                    (try? await database.query("SELECT count(*)::int8 FROM inbox", logger: Logger(label: "bench"))
                        .collect().first?.decode(Int.self)) ?? 0
                // The clock starts with the first stored event: the group join is not counted.
                if start == nil && stored > 0 { start = .now }
                let committed = try await reader.committedOffsets(for: topicPartitions).values.reduce(0) {
                    $0 + Int($1 ?? 0)
                }
                if committed == events { break }
            }
        }
        let elapsed = ContinuousClock.now - (start ?? .now)
        let peak = peakRSSKiB(of: process.processIdentifier)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        await reader.close()
        guard stored == unique else { throw ValidationError("stored \(stored) distinct keys, expected \(unique)") }
        return (Double(events) / (elapsed / .seconds(1)), peak)
    }

    /// The same rows in plain batched inserts: an inbox row and a reminder row per event.
    private func measureBaseline(_ configuration: DatabaseConfiguration, logger: Logger) async throws -> Double {
        try await configuration.withClient { database in
            try await database.query(
                "CREATE TABLE raw_inbox (LIKE inbox INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)",
                logger: logger)
            try await database.query(
                "CREATE TABLE raw_reminders (LIKE reminders INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)",
                logger: logger)
            // Only the statements are timed, not building their rows.
            var elapsed = Duration.zero
            try await database.withConnection { connection in
                for batchStart in stride(from: 0, to: events, by: baselineBatch) {
                    let indices = (batchStart..<min(batchStart + baselineBatch, events)).map(Self.source)
                    let keys = indices.map { "bench-\($0)" }
                    let reminders = indices.map { "reminder-\($0)" }
                    let users = indices.map { "user-\($0 % 10_000)" }
                    let values = indices.map { ByteBuffer(bytes: Self.event($0)) }
                    let channels = indices.map {
                        #"[{"type":"push","platform":"fcm","token":"token-\#($0)"},{"type":"email","to":"user\#($0)@example.com"}]"#
                    }
                    let contents = indices.map {
                        #"{"title":"Reminder number \#($0)","body":"Your appointment is tomorrow at nine.","data":{"id":\#($0)}}"#
                    }
                    let offsets = indices.map { Int64($0) }
                    let started = ContinuousClock.now
                    try await connection.query("BEGIN", logger: logger)
                    try await connection.query(
                        """
                        INSERT INTO raw_inbox (idempotency_key, payload_sha256, reminder_id, source_partition, source_offset)
                        SELECT k, sha256(v), r, 0, o FROM unnest(\(keys)::text[], \(values)::bytea[], \(reminders)::text[],
                            \(offsets)::int8[]) AS t(k, v, r, o)
                        ON CONFLICT DO NOTHING
                        """, logger: logger)
                    try await connection.query(
                        """
                        INSERT INTO raw_reminders (reminder_id, user_id, state, time_zone, deliver_at, due_at, channels,
                            content, idempotency_key, source_topic, source_partition, source_offset, source_value)
                        SELECT r, u, 'SCHEDULED', 'Europe/Berlin', '2030-01-01T08:00:00Z', '2030-01-01T08:00:00Z',
                            c::jsonb, x::jsonb, k, 'reminders', 0, o, v
                        FROM unnest(\(reminders)::text[], \(users)::text[], \(channels)::text[], \(contents)::text[],
                            \(keys)::text[], \(offsets)::int8[], \(values)::bytea[]) AS t(r, u, c, x, k, o, v)
                        ON CONFLICT DO NOTHING
                        """, logger: logger)
                    try await connection.query("COMMIT", logger: logger)
                    elapsed += ContinuousClock.now - started
                }
            }
            return Double(events) / (elapsed / .seconds(1))
        }
    }
}
