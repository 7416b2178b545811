import Foundation
import Kafka
import ReminderCore
import ReminderStore

/// The service's settings, read from the environment and validated at start: a bad
/// value stops start-up with a message that names the variable.
public struct ServiceSettings: Sendable {
    public var kafka: KafkaClientConfiguration
    public var groupID: String
    public var sessionTimeout: Duration
    public var remindersTopic: String
    public var deadLetterTopic: String
    /// Where the status relay publishes what happened to each reminder.
    public var statusTopic: String
    /// Whether state changes write status events (`STATUS_EVENTS`); off, nothing is
    /// written to the status outbox and no status relay runs.
    public var statusEvents: Bool
    public var database: DatabaseConfiguration
    public var migrations: URL
    public var commitInterval: Duration
    public var batchSize: Int
    /// The most bytes of messages a lane stores in one transaction (`INGEST_BATCH_BYTES`).
    public var batchBytes: Int
    public var linger: Duration
    public var lanes: Int
    /// Whether this instance consumes and stores events (off for dispatch-only instances).
    public var ingestEnabled: Bool
    /// Whether this instance publishes the dead-letter outbox.
    public var relayEnabled: Bool
    public var dispatch: DispatchSettings
    public var delivery: DeliverySettings
    public var api: APISettings
    public var tracing: TracingSettings
    /// What the database keeps, and for how long.
    public var retention: RetentionSettings
    /// How long a graceful shutdown may take before what is left is cancelled.
    public var shutdownTimeout: Duration
    /// Seals personal data at rest (`DATA_ENCRYPTION_KEYS`); nil, the default: plaintext.
    public var sealer: DataSealer? = nil

    /// librdkafka pre-fetches up to 100,000 messages per partition by default: hundreds
    /// of MiB for a topic of a few partitions, far ahead of what ingest stores per
    /// second. The service bounds it (measured with scripts/bench-ingest.sh: peak RSS
    /// 708 MiB before, 221 MiB after, at the same ingest rate); a raw consumer that
    /// needs every message per second it can get keeps librdkafka's defaults. The bounds
    /// apply to the consumer's one queue, whatever the partitions: about a batch
    /// (`INGEST_BATCH_SIZE` messages, `INGEST_BATCH_BYTES`), on top of the read-ahead of a
    /// batch for each lane the service itself keeps. At 10,000 messages and 16 MiB, the
    /// earlier bounds, librdkafka held 16 MiB of fetched data and structures at the peak
    /// (heaptrack). With these bounds and the reader reading only what the lanes' queue
    /// has room for, the service peaked at 101–104 MiB against 104–108, at 1.05–1.10 of
    /// the rate (scripts/bench-ingest.sh, issue 19); a smaller threshold than a batch
    /// lowered nothing, since a fetch's answer, not the threshold, fills the queue.
    /// `queued.min.messages` counts per partition, so with several partitions it is the
    /// bytes that bound the queue: half a batch's (`INGEST_BATCH_BYTES`), since librdkafka
    /// keeps each fetch's whole answer until the last of its messages is taken. At a whole
    /// batch's 4 MiB its fetch answers were 7–10 MB of the service's peak heap; at half,
    /// the service peaked 3–4 MiB lower (96.2–97.6 MiB against 98.4–101.7) at the same
    /// rate (scripts/bench-ingest.sh, issue 19).
    ///
    /// Once the read-ahead reaches those limits librdkafka stops fetching for
    /// `fetch.queue.backoff.ms`, 1,000 by default: ingest emptied the read-ahead in about
    /// half of that and then waited the rest with both lanes idle (a log of every hand-over
    /// in scripts/bench-ingest.sh: waits of 400–700 ms for the consumer once a second). At
    /// 20 ms the next fetch follows as soon as ingest has made room.
    public var consumerPrefetchLimits: [String: String] {
        [
            "queued.min.messages": String(batchSize),
            "queued.max.messages.kbytes": String(max(1, batchBytes / 2048)),
            "fetch.queue.backoff.ms": "20",
        ]
    }

    /// How many messages the consumer reads ahead of ingest: one read (a batch for each
    /// lane), with about as much queued for the lanes. Two reads ahead stored at the same
    /// rate and peaked 10 MiB higher (scripts/bench-ingest.sh, issue 19); more only adds
    /// memory.
    public var consumerReadAhead: Int { batchSize * lanes }

    /// The same in bytes, for large events, but two batches' worth for each lane: one
    /// saved no memory for events of 50 KB (peak 161–174 MiB against 164–166) and stored
    /// them at 0.99 and 0.87 of the rate (scripts/bench-ingest.sh --html-bytes 50000).
    public var consumerReadAheadBytes: Int { batchBytes * lanes * 2 }

    /// The consumer's client configuration: the shared one plus the pre-fetch limits
    /// (pass-through properties of the same names win).
    public var consumerClient: KafkaClientConfiguration {
        var client = kafka
        client.properties.merge(consumerPrefetchLimits) { current, _ in current }
        return client
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let variable: String
        public let message: String
        public var description: String { "\(variable): \(message)" }
    }

    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ServiceSettings {
        let reader = EnvironmentReader(environment: environment)
        let servers = reader.value("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard !servers.isEmpty, servers.allSatisfy({ $0.contains(":") && !$0.hasSuffix(":") }) else {
            throw Invalid(variable: "KAFKA_BOOTSTRAP_SERVERS", message: "must be host:port[,host:port…]")
        }
        let databaseURL = reader.value(
            "DATABASE_URL", "postgres://notification:notification@127.0.0.1:5432/notification")
        let database: DatabaseConfiguration
        do {
            database = try DatabaseConfiguration(url: databaseURL)
        } catch {
            throw Invalid(variable: "DATABASE_URL", message: error.message)
        }
        let topic = reader.value("REMINDERS_TOPIC", "reminders")
        let deadLetterTopic = reader.value("DEAD_LETTER_TOPIC", "\(topic).dlq")
        guard topic != deadLetterTopic else {
            throw Invalid(variable: "DEAD_LETTER_TOPIC", message: "must differ from REMINDERS_TOPIC")
        }
        let statusTopic = reader.value("STATUS_TOPIC", "\(topic).status")
        guard statusTopic != topic, statusTopic != deadLetterTopic else {
            throw Invalid(variable: "STATUS_TOPIC", message: "must differ from REMINDERS_TOPIC and DEAD_LETTER_TOPIC")
        }
        let statusEvents = try reader.flag("STATUS_EVENTS", true)
        let migrations = try migrationsFolder(environment["NOTIFICATION_MIGRATIONS_DIR"])
        let ingestEnabled = try reader.flag("INGEST_ENABLED", true)
        let relayEnabled = try reader.flag("DEAD_LETTER_RELAY_ENABLED", true)
        var dispatch = try DispatchSettings(reader)
        guard ingestEnabled || relayEnabled || dispatch.enabled else {
            throw Invalid(
                variable: "INGEST_ENABLED",
                message: "INGEST_ENABLED, DEAD_LETTER_RELAY_ENABLED and DISPATCH_ENABLED are all off: nothing to run")
        }
        let delivery = try DeliverySettings(reader)
        // A lease shorter than a slow send lets a second instance take a reminder that is
        // still being sent: it must outlast a few of the slowest provider's sends.
        let slowestSend = max(delivery.http.timeout, delivery.smtp?.sendTimeout ?? .zero)
        guard dispatch.dispatcher.lease >= slowestSend * 3 else {
            throw Invalid(
                variable: "DISPATCH_LEASE_MS",
                message:
                    "must be at least three times the slowest provider timeout (\(slowestSend.wholeMilliseconds) ms)")
        }
        let shutdownTimeout = try reader.milliseconds("SHUTDOWN_TIMEOUT_MS", 30_000, 1_000...3_600_000)
        // Outcomes still held when a shutdown begins are given up in time for the rest of
        // the shutdown: within half its limit, a minute at most.
        dispatch.dispatcher.recordGiveUp = min(.seconds(60), shutdownTimeout / 2)
        var settings = ServiceSettings(
            kafka: KafkaClientConfiguration(
                bootstrapServers: servers, clientID: reader.value("KAFKA_CLIENT_ID", "notification-service"),
                properties: try kafkaProperties(environment)),
            groupID: reader.value("KAFKA_GROUP_ID", "notification-service"),
            sessionTimeout: try reader.milliseconds("KAFKA_SESSION_TIMEOUT_MS", 45_000, 1_000...3_600_000),
            remindersTopic: topic, deadLetterTopic: deadLetterTopic, statusTopic: statusTopic,
            statusEvents: statusEvents, database: database, migrations: migrations,
            commitInterval: try reader.milliseconds("INGEST_COMMIT_INTERVAL_MS", 500, 10...3_600_000),
            batchSize: try reader.count("INGEST_BATCH_SIZE", 2_500, 1...100_000),
            batchBytes: try reader.count("INGEST_BATCH_BYTES", 4 << 20, (1 << 20)...(256 << 20)),
            linger: try reader.milliseconds("INGEST_LINGER_MS", 5, 0...10_000),
            lanes: try reader.count("INGEST_LANES", 2, 1...16), ingestEnabled: ingestEnabled,
            relayEnabled: relayEnabled,
            dispatch: dispatch, delivery: delivery, api: try APISettings(reader), tracing: try TracingSettings(reader),
            retention: try RetentionSettings(reader), shutdownTimeout: shutdownTimeout)
        settings.sealer = try DataEncryptionSettings.sealer(reader)
        return settings
    }

    /// The prefix of librdkafka properties passed through (for TLS and SASL, say):
    /// `KAFKA_PROPERTY_SECURITY_PROTOCOL=SASL_SSL` sets `security.protocol`.
    public static let kafkaPropertyPrefix = "KAFKA_PROPERTY_"

    /// Properties the service sets itself because its guarantees rest on them: offsets
    /// stored and committed only after the database transaction, an idempotent producer
    /// acknowledged by every replica, the group and brokers from their own settings.
    static let reservedKafkaProperties: [String: String] = [
        "enable.auto.commit": "offsets are committed only after their batch is stored",
        "enable.auto.offset.store": "offsets are committed only after their batch is stored",
        "enable.idempotence": "dead letters and replays are published idempotently",
        "acks": "dead letters and replays are acknowledged by every in-sync replica",
        "request.required.acks": "dead letters and replays are acknowledged by every in-sync replica",
        "transactional.id": "the service does not use Kafka transactions",
        "group.id": "set KAFKA_GROUP_ID instead",
        "bootstrap.servers": "set KAFKA_BOOTSTRAP_SERVERS instead",
        "metadata.broker.list": "set KAFKA_BOOTSTRAP_SERVERS instead",
    ]

    /// The pass-through properties, each checked as librdkafka would; an error names the
    /// variable (never the value: it may be a password).
    static func kafkaProperties(_ environment: [String: String]) throws -> [String: String] {
        var properties: [String: String] = [:]
        var variables: [String: String] = [:]
        for (name, value) in environment where name.hasPrefix(kafkaPropertyPrefix) {
            let property = name.dropFirst(kafkaPropertyPrefix.count).lowercased().replacingOccurrences(
                of: "_", with: ".")
            guard !property.isEmpty else { throw Invalid(variable: name, message: "names no librdkafka property") }
            if let reason = reservedKafkaProperties[property] {
                throw Invalid(variable: name, message: "\(property) is set by the service: \(reason)")
            }
            properties[property] = value
            variables[property] = name
        }
        do {
            try KafkaClientConfiguration.checkProperties(properties)
        } catch {
            let variable = error.property.flatMap { variables[$0] } ?? kafkaPropertyPrefix + "*"
            let problem =
                error.name == "unknown_property" ? "is not a librdkafka property" : "has a value librdkafka refuses"
            throw Invalid(variable: variable, message: "\(error.property ?? "a property") \(problem)")
        }
        return properties
    }

    /// The migrations folder: the one given, else `migrations` in the working directory
    /// or beside (or above) the executable.
    static func migrationsFolder(_ given: String?) throws -> URL {
        if let given, !given.isEmpty {
            return URL(fileURLWithPath: given)
        }
        var candidates = [
            URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("migrations")
        ]
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(directory.appendingPathComponent("migrations"))
            candidates.append(directory.appendingPathComponent("share/notification-service/migrations"))
            directory.deleteLastPathComponent()
        }
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw Invalid(variable: "NOTIFICATION_MIGRATIONS_DIR", message: "not set, and no migrations folder found")
        }
        return found
    }
}
