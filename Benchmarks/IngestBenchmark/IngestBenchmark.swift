import ArgumentParser
import BenchmarkSupport
import Foundation
import Kafka
import Logging
import NIOCore
import PostgresNIO
import ReminderStore

/// Measures the ingest path as it runs in production, a `notification-service serve`
/// process, beside two others that store the same rows from the same topic in the same
/// run: a plain Python pipeline (the peer, Benchmarks/peers/ingest_peer.py) and plain
/// batched `INSERT … ON CONFLICT DO NOTHING` (raw insert). Several rounds, the order of
/// the contenders turning each round, each on a fresh database. After its window a
/// contender's database is vacuumed and checkpointed (PostgreSQL's CPU for that is
/// printed apart: what the contender left it to do), then dropped, and autovacuum waited
/// for, so that none of it falls in the next contender's window. Prints every round, the
/// medians of the rates and of the ratios, the CPU per event of each contender and of
/// PostgreSQL, and the service's peak RSS.
@main
struct IngestBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest-benchmark",
        abstract: "Ingest throughput of the service against a Python peer and raw batched inserts, and its cost.",
        discussion:
            "Run it through scripts/bench-ingest.sh, which starts the broker and database and builds in release mode."
    )

    @OptionGroup var target: ServiceUnderTest

    @Option(help: "Events to publish (one in ten repeats the previous event's key and bytes).")
    var events = 1_000_000

    @Option(
        help: """
            Bytes of HTML in each event's content (0: none; at most 100,000, the contract's limit): \
            large events, for what a batch of them costs in memory.
            """)
    var htmlBytes = 0

    @Option(help: "Partitions of the topic.")
    var partitions: Int32 = 8

    @Option(help: "Events per INSERT batch of the raw insert.")
    var baselineBatch = 500

    @Option(help: "Rounds; the contenders' order turns by one each round.")
    var rounds = 3

    @Option(help: "The Python peer (Benchmarks/peers/ingest_peer.py).")
    var peer: String

    @Option(help: "The Python that runs the peer (with confluent-kafka and psycopg).")
    var python = "python3"

    @Flag(
        help: """
            In each round also run the service as two serve processes in one consumer group (same topic, same \
            database), and print the rate two / one, both processes' CPU and the machine's idle share.
            """)
    var twoInstances = false

    @Flag(
        help: """
            In each round also run the service with STATUS_EVENTS=false (no status record written, published or \
            deleted), and print the rate without / with status events and without status events / raw insert and / \
            peer: what the status outbox costs, beside what the baselines (which write none) do.
            """)
    var alsoWithoutStatusEvents = false

    @Option(
        help: """
            Another build of notification-service to measure in each round beside --service (for example the \
            commit before a change), on the same events: prints the rate --service / this one.
            """)
    var compareService: String?

    @Option(help: "The migrations folder of --compare-service (default: --migrations).")
    var compareMigrations: String?

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        guard (0...100_000).contains(htmlBytes) else {
            throw ValidationError("--html-bytes must be 0 to 100000 (the event contract's limit for content.html)")
        }
        if let compareService, !FileManager.default.isExecutableFile(atPath: compareService) {
            throw ValidationError("--compare-service: \(compareService) is not an executable file")
        }
        if compareMigrations != nil && compareService == nil {
            throw ValidationError("--compare-migrations needs --compare-service")
        }
    }

    /// The build `--compare-service` names, nil without it.
    var compared: ServiceBuild? {
        compareService.map { ServiceBuild(executable: $0, migrations: compareMigrations ?? target.migrations) }
    }

    func run() async throws {
        let runID = UUID().uuidString.prefix(8).lowercased()
        let topic = "ingest-bench-\(runID)"
        let client = KafkaClientConfiguration(
            bootstrapServers: target.bootstrapServers.split(separator: ",").map(String.init))
        let kafkaAdmin = try KafkaAdmin(configuration: client)
        try await kafkaAdmin.createTopic(topic, partitions: partitions)
        try await kafkaAdmin.createTopic(topic + ".dlq", partitions: partitions)
        try await kafkaAdmin.createTopic(topic + ".status", partitions: partitions)

        let durability = try await PostgresDurability.read(databaseURL: target.databaseURL)
        say(durability.header)
        if target.postmaster == nil { say("PostgreSQL's CPU is not measured (no --postgres-pid-file)") }
        let unique = try await publish(topic: topic, client: client)
        say(
            "published \(events) events (\(unique) distinct keys, \(Self.event(0, htmlBytes: htmlBytes).count) bytes "
                + "each) to \(topic), \(partitions) partitions")

        try await target.settle()
        var contenders: [Contender] = [.service, .peer, .raw]
        if twoInstances { contenders.append(.pair) }
        if target.alsoEncrypted { contenders.append(.sealed) }
        if alsoWithoutStatusEvents { contenders.append(.withoutStatus) }
        if compared != nil { contenders.append(.compared) }
        var results: [[Contender: Measurement]] = []
        for round in 0..<rounds {
            let turn = round % contenders.count
            let order: [Contender] = Array(contenders[turn...]) + Array(contenders[..<turn])
            say("")
            say(
                "round \(round + 1) of \(rounds) \(durability.tag): \(order.map { $0.rawValue }.joined(separator: ", "))"
            )
            var measured: [Contender: Measurement] = [:]
            for contender in order {
                let database = "bench_\(runID)_r\(round + 1)_\(contender.databaseSuffix)"
                var measurement = try await measure(
                    contender, topic: topic, database: database, client: client, unique: unique)
                measurement.afterWindowSeconds = try await target.vacuumAndCheckpoint(database)
                say(measurement.line(contender, events: events))
                measured[contender] = measurement
                try await target.dropDatabaseAndSettle(database)
            }
            say(IngestSummary.ratios(measured))
            results.append(measured)
        }
        IngestSummary(rounds: results, events: events, unique: unique, tag: durability.tag).print()
    }

    private func measure(
        _ contender: Contender, topic: String, database: String, client: KafkaClientConfiguration, unique: Int
    ) async throws -> Measurement {
        switch contender {
        case .service:
            return try await measureService(
                instances: 1, topic: topic, database: database, client: client, unique: unique)
        case .pair:
            return try await measureService(
                instances: 2, topic: topic, database: database, client: client, unique: unique)
        case .sealed:
            return try await measureService(
                instances: 1, topic: topic, database: database, client: client, unique: unique,
                settings: ServiceUnderTest.encryptionSettings())
        case .withoutStatus:
            return try await measureService(
                instances: 1, topic: topic, database: database, client: client, unique: unique,
                settings: ["STATUS_EVENTS": "false"])
        case .compared:
            return try await measureService(
                instances: 1, topic: topic, database: database, client: client, unique: unique, build: compared)
        case .peer:
            return try await measurePeer(topic: topic, database: database, client: client, unique: unique)
        case .raw:
            return try await measureRawInsert(topic: topic, database: database)
        }
    }

    static func event(_ index: Int, htmlBytes: Int) -> [UInt8] {
        Array(
            """
            {"schema_version":1,"type":"schedule","idempotency_key":"bench-\(index)","reminder_id":"reminder-\(index)",\
            "user_id":"user-\(index % 10_000)","timezone":"Europe/Berlin","deliver_at":"2030-01-01T09:00:00+01:00",\
            "channels":[{"type":"push","platform":"fcm","token":"token-\(index)"},{"type":"email","to":"user\(index)@example.com"}],\
            "content":\(content(index, htmlBytes: htmlBytes))}
            """.utf8)
    }

    /// Event `index`'s content, with `htmlBytes` of HTML when not 0.
    static func content(_ index: Int, htmlBytes: Int) -> String {
        let html = htmlBytes > 0 ? #","html":"<p>\#(String(repeating: "x", count: max(htmlBytes - 7, 0)))</p>""# : ""
        return #"{"title":"Reminder number \#(index)","body":"Your appointment is tomorrow at nine.""#
            + html + #","data":{"id":\#(index)}}"#
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
                    topic: topic, key: Array("user-\(source % 10_000)".utf8),
                    value: Self.event(source, htmlBytes: htmlBytes))
            }
            for result in await producer.send(batch) { _ = try result.get() }
        }
        await producer.close()
        return distinct
    }
}

/// Who stores the events.
enum Contender: String, CaseIterable {
    case service = "service"
    case peer = "peer"
    case raw = "raw insert"
    case pair = "service ×2"
    case sealed = "service sealed"
    case withoutStatus = "no status events"
    case compared = "compared build"

    var databaseSuffix: String {
        switch self {
        case .service: "service"
        case .peer: "peer"
        case .raw: "raw"
        case .pair: "pair"
        case .sealed: "sealed"
        case .withoutStatus: "nostatus"
        case .compared: "compared"
        }
    }
}
