import ArgumentParser
import BenchmarkSupport
import Foundation
import Kafka
import Logging
import NIOCore
import PostgresNIO
import ReminderStore

/// What one contender measured in one round.
struct Measurement {
    /// Events consumed per second, from the first stored event to the last committed offset
    /// (raw insert: over its statements).
    var rate: Double
    /// CPU over that window; `processSeconds` is the contender's own (the service's
    /// processes summed, the peer's as it counts itself), nil for the raw insert.
    var cost: CPUCost
    /// The service processes' peak RSS (VmHWM) in KiB.
    var peakRSS: [Int] = []
    /// Of that, the part mapping files (code and libraries; RssFile at the end), in KiB.
    var fileBackedRSS: [Int] = []
    /// The peer's rate by its own clock.
    var ownRate: Double?
    /// The service's status records not yet published when the last offset was committed:
    /// how far the status relay was behind ingest.
    var unpublishedStatus: Int?
    /// The WAL PostgreSQL wrote over the window, in bytes (the whole cluster: autovacuum
    /// included; only one contender runs at a time).
    var walBytes: Int64?
    /// PostgreSQL's CPU seconds after the window for what the contender left it: a
    /// `VACUUM (ANALYZE)` of its database and a checkpoint (`vacuumAndCheckpoint`).
    var afterWindowSeconds: Double?
}

extension IngestBenchmark {
    /// `instances` `serve` processes (of `build`, nil: the service under test) in one fresh
    /// consumer group on `database` (which the service migrates), until every event is
    /// stored and every offset committed.
    func measureService(
        instances: Int, topic: String, database: String, client: KafkaClientConfiguration, unique: Int,
        settings: [String: String] = [:], build: ServiceBuild? = nil
    ) async throws -> Measurement {
        let databaseURL = try await target.createDatabase(database)
        let group = "ingest-bench-\(UUID().uuidString.prefix(8))"
        let processes = try (0..<instances).map { _ in
            // Any free HTTP port: two instances cannot both have 8080.
            try target.launch(
                topic: topic, group: group, databaseURL: databaseURL,
                settings: ["HTTP_PORT": "0"].merging(settings) { $1 }, build: build)
        }
        defer {
            for process in processes where process.isRunning { kill(process.processIdentifier, SIGTERM) }
            for process in processes { process.waitUntilExit() }
        }
        let (seconds, cost, stored, wal) = try await observe(
            topic: topic, group: group, databaseURL: databaseURL, client: client, running: processes,
            measuring: processes.map(\.processIdentifier))
        let unpublished = try await DatabaseConfiguration(url: databaseURL).withClient(
            logger: quietLogger("ingest-benchmark")
        ) {
            try await $0.query(
                "SELECT count(*)::int8 FROM status_events WHERE published_at IS NULL",
                logger: quietLogger("ingest-benchmark")
            ).collect().first?.decode(Int.self)
        }
        let peaks = processes.map { peakRSSKiB(of: $0.processIdentifier) }
        let fileBacked = processes.map { fileBackedRSSKiB(of: $0.processIdentifier) }
        guard stored == unique else { throw BenchmarkFailure("the service stored \(stored) keys, expected \(unique)") }
        return Measurement(
            rate: Double(events) / seconds, cost: cost, peakRSS: peaks, fileBackedRSS: fileBacked,
            unpublishedStatus: unpublished, walBytes: wal)
    }

    /// The Python peer on a fresh migrated database, in a consumer group of its own.
    func measurePeer(topic: String, database: String, client: KafkaClientConfiguration, unique: Int) async throws
        -> Measurement
    {
        let databaseURL = try await target.createDatabase(database, migrated: true)
        let group = "ingest-peer-\(UUID().uuidString.prefix(8))"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [
            peer, "--bootstrap-servers", target.bootstrapServers, "--topic", topic, "--group", group,
            "--database-url", databaseURL, "--events", String(events),
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGTERM) }
            process.waitUntilExit()
        }
        // The peer leaves once it has committed the last offset: its own CPU comes from its report.
        var (seconds, cost, stored, wal) = try await observe(
            topic: topic, group: group, databaseURL: databaseURL, client: client, running: [], measuring: [])
        process.waitUntilExit()
        let report = output.fileHandleForReading.readDataToEndOfFile()
        guard process.terminationStatus == 0,
            let line = String(decoding: report, as: UTF8.self).split(separator: "\n").last,
            let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else {
            throw BenchmarkFailure(
                "the peer failed (exit \(process.terminationStatus)): \(String(decoding: report, as: UTF8.self))")
        }
        guard stored == unique else { throw BenchmarkFailure("the peer stored \(stored) keys, expected \(unique)") }
        cost.processSeconds = json["cpu_seconds"] as? Double
        seconds = max(seconds, 0.001)
        return Measurement(
            rate: Double(events) / seconds, cost: cost, ownRate: json["events_per_second"] as? Double, walBytes: wal)
    }

    /// Waits for the first event stored in `databaseURL`'s inbox, then until `group` has
    /// committed every offset; the CPU window spans the two (of the processes `measuring`
    /// and of PostgreSQL). Throws when one of `running` exits first.
    private func observe(
        topic: String, group: String, databaseURL: String, client: KafkaClientConfiguration, running: [Process],
        measuring: [Int32]
    ) async throws -> (seconds: Double, cost: CPUCost, stored: Int, walBytes: Int64) {
        let logger = quietLogger("ingest-benchmark")
        let reader = try KafkaConsumer(configuration: KafkaConsumerConfiguration(client: client, groupID: group))
        let topicPartitions = (0..<partitions).map { KafkaTopicPartition(topic: topic, partition: $0) }
        let deadline = ContinuousClock.now + .seconds(900)
        func check() throws {
            guard ContinuousClock.now < deadline else { throw BenchmarkFailure("\(group) did not finish in 900 s") }
            if let gone = running.first(where: { !$0.isRunning }) {
                throw BenchmarkFailure(
                    "\(gone.executableURL?.lastPathComponent ?? "a process") exited early (status \(gone.terminationStatus))"
                )
            }
        }
        let result = try await DatabaseConfiguration(url: databaseURL).withClient(logger: logger) { database in
            // The clock starts with the first stored event: start-up, migrations and the group
            // join are not counted. Until then the inbox may not even exist.
            while (try? await database.query("SELECT EXISTS (SELECT 1 FROM inbox)", logger: logger).collect()
                .first?.decode(Bool.self)) != true
            {
                try check()
                try await Task.sleep(for: .milliseconds(20))
            }
            let start = ContinuousClock.now
            let window = CPUWindow(processes: measuring, postmaster: target.postmaster, broker: target.broker)
            let walStart = try await Self.walPosition(database)
            // Only the broker is asked from here on, so that the watching costs PostgreSQL nothing.
            while try await reader.committedOffsets(for: topicPartitions).values.reduce(0, { $0 + Int($1 ?? 0) })
                < events
            {
                try check()
                try await Task.sleep(for: .milliseconds(50))
            }
            let seconds = (ContinuousClock.now - start) / .seconds(1)
            let cost = window.close()
            let wal = try await Self.walBytes(since: walStart, database)
            let stored =
                try await database.query("SELECT count(*)::int8 FROM inbox", logger: logger).collect().first?
                .decode(Int.self) ?? 0
            return (seconds, cost, stored, wal)
        }
        await reader.close()
        return result
    }

    /// The same rows in plain batched inserts, into the inbox and reminders of a fresh
    /// migrated database: an inbox row and a reminder row per event, `baselineBatch` a
    /// transaction, one connection. Only the statements are timed, not building their rows;
    /// PostgreSQL's CPU is counted over the whole loop (it is idle while the rows are built).
    func measureRawInsert(topic: String, database: String) async throws -> Measurement {
        let logger = quietLogger("ingest-benchmark")
        let databaseURL = try await target.createDatabase(database, migrated: true)
        return try await DatabaseConfiguration(url: databaseURL).withClient(logger: logger) { database in
            var elapsed = Duration.zero
            let window = CPUWindow(processes: [], postmaster: target.postmaster)
            let walStart = try await Self.walPosition(database)
            try await database.withConnection { connection in
                for batchStart in stride(from: 0, to: events, by: baselineBatch) {
                    let indices = (batchStart..<min(batchStart + baselineBatch, events)).map(Self.source)
                    let keys = indices.map { "bench-\($0)" }
                    let reminders = indices.map { "reminder-\($0)" }
                    let users = indices.map { "user-\($0 % 10_000)" }
                    let values = indices.map { ByteBuffer(bytes: Self.event($0, htmlBytes: htmlBytes)) }
                    let channels = indices.map {
                        #"[{"type":"push","platform":"fcm","token":"token-\#($0)"},{"type":"email","to":"user\#($0)@example.com"}]"#
                    }
                    let contents = indices.map { Self.content($0, htmlBytes: htmlBytes) }
                    let offsets = indices.map { Int64($0) }
                    let started = ContinuousClock.now
                    try await connection.query("BEGIN", logger: logger)
                    try await connection.query(
                        """
                        INSERT INTO inbox (idempotency_key, payload_sha256, reminder_id, source_partition, source_offset)
                        SELECT k, sha256(v), r, 0, o FROM unnest(\(keys)::text[], \(values)::bytea[], \(reminders)::text[],
                            \(offsets)::int8[]) AS t(k, v, r, o)
                        ON CONFLICT DO NOTHING
                        """, logger: logger)
                    try await connection.query(
                        """
                        INSERT INTO reminders (reminder_id, user_id, state, time_zone, deliver_at, due_at, channels,
                            content, idempotency_key, source_topic, source_partition, source_offset, source_value)
                        SELECT r, u, 'SCHEDULED', 'Europe/Berlin', '2030-01-01T08:00:00Z', '2030-01-01T08:00:00Z',
                            c::jsonb, x::jsonb, k, \(topic), 0, o, v
                        FROM unnest(\(reminders)::text[], \(users)::text[], \(channels)::text[], \(contents)::text[],
                            \(keys)::text[], \(offsets)::int8[], \(values)::bytea[]) AS t(r, u, c, x, k, o, v)
                        ON CONFLICT DO NOTHING
                        """, logger: logger)
                    try await connection.query("COMMIT", logger: logger)
                    elapsed += ContinuousClock.now - started
                }
            }
            let cost = window.close()
            return Measurement(
                rate: Double(events) / (elapsed / .seconds(1)), cost: cost,
                walBytes: try await Self.walBytes(since: walStart, database))
        }
    }

    /// PostgreSQL's current WAL write position, as text.
    private static func walPosition(_ database: PostgresClient) async throws -> String {
        try await database.query("SELECT pg_current_wal_lsn()::text", logger: quietLogger("ingest-benchmark"))
            .collect().first?.decode(String.self) ?? "0/0"
    }

    /// The WAL bytes written since `position`.
    private static func walBytes(since position: String, _ database: PostgresClient) async throws -> Int64 {
        try await database.query(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), \(position)::pg_lsn)::int8",
            logger: quietLogger("ingest-benchmark")
        ).collect().first?.decode(Int64.self) ?? 0
    }
}
