import ArgumentParser
import AsyncHTTPClient
import BenchmarkSupport
import Foundation
import Kafka
import Logging
import NIOCore
import PostgresNIO
import ReminderStore

/// Whether retention keeps the database flat: a steady stream of reminders, each due a
/// second after it is published and delivered to a loopback HTTPS receiver, runs for
/// several retention windows twice in one invocation, once with pruning off and once
/// with it on (windows shortened to `--window` seconds), each on a database and topic of
/// its own. Prints the tables' sizes with their indexes (`pg_total_relation_size`) over
/// time and the ingest and delivery rates of each phase, then the growth after the first
/// window and the rates' ratio.
@main
struct SoakBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak-benchmark",
        abstract: "Table sizes and rates over several retention windows, pruning off and on.",
        discussion: "Run it through scripts/bench-soak.sh, which starts the broker and a durable database.")

    @OptionGroup var target: ServiceUnderTest

    @OptionGroup var receiver: ReceiverCertificate

    @Option(help: "Reminders per second.")
    var rate = 300

    @Option(help: "Seconds of each phase.")
    var seconds = 300

    @Option(help: "The retention window of every kind of row, in seconds, in the pruning phase.")
    var window = 60

    @Option(help: "Seconds between two samples of the sizes.")
    var sample = 20

    @Option(help: "A folder for the service's logs (none when not given).")
    var logs: String?

    static let tables = [
        "reminders", "reminder_transitions", "delivery_attempts", "inbox", "status_events", "published_status_events",
    ]

    struct Sample {
        let at: Double
        /// Bytes by table, indexes and TOAST included.
        let sizes: [String: Int64]
        let stored: Double
        let delivered: Int
        let pruned: Double

        var total: Int64 { sizes.values.reduce(0, +) }
    }

    struct Phase {
        let pruning: Bool
        let samples: [Sample]
        let ingestRate: Double
        let deliveryRate: Double
        let peakRSSKiB: Int
    }

    func validate() throws {
        guard rate > 0, seconds > 0, window > 0, sample > 0 else {
            throw ValidationError("--rate, --seconds, --window and --sample are positive")
        }
        guard seconds >= 3 * window else { throw ValidationError("--seconds: at least three windows") }
    }

    func run() async throws {
        let fsync = try await setting("fsync")
        let synchronousCommit = try await setting("synchronous_commit")
        let fullPageWrites = try await setting("full_page_writes")
        say(
            "PostgreSQL: fsync \(fsync), synchronous_commit \(synchronousCommit), full_page_writes \(fullPageWrites)"
                + (fsync == "on" && synchronousCommit == "on" ? " (durable)" : " (NOT durable)"))
        say("load: \(rate) reminders/s for \(seconds) s per phase, each due 1 s after publishing, webhook over HTTPS")
        let sink = try await WebhookSink(certificateFile: receiver.certificate, keyFile: receiver.key)
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        var phases: [Phase] = []
        do {
            for pruning in [false, true] {
                phases.append(try await phase(pruning: pruning, sink: sink, http: http))
            }
        } catch {
            try? await http.shutdown()
            await sink.close()
            throw error
        }
        try await http.shutdown()
        await sink.close()
        summarize(phases)
    }

    /// One phase: a database, a topic and a `serve` of its own.
    private func phase(pruning: Bool, sink: WebhookSink, http: HTTPClient) async throws -> Phase {
        let runID = "\(pruning ? "on" : "off")_\(UUID().uuidString.prefix(8).lowercased())"
        let topic = "soak-\(runID)"
        let client = KafkaClientConfiguration(
            bootstrapServers: target.bootstrapServers.split(separator: ",").map(String.init))
        let admin = try KafkaAdmin(configuration: client)
        for name in [topic, topic + ".dlq", topic + ".status"] { try await admin.createTopic(name, partitions: 4) }
        let databaseURL = try await target.createDatabase("soak_\(runID)")
        let port = pruning ? 38_181 : 38_180
        let days = String(Double(window) / 86_400)
        var settings = [
            "WEBHOOK_SIGNING_SECRET": "benchmark-signing-secret", "WEBHOOK_ALLOW_LOOPBACK": "true",
            "HTTP_PROVIDER_CA_FILE": receiver.certificate, "HTTP_PORT": String(port),
            "RETENTION_ENABLED": pruning ? "true" : "false",
        ]
        if pruning {
            for name in [
                "RETENTION_REMINDERS_DAYS", "RETENTION_DEAD_LETTERS_DAYS", "RETENTION_STATUS_EVENTS_DAYS",
                "RETENTION_INBOX_DAYS", "REMINDERS_TOPIC_RETENTION_DAYS",
            ] { settings[name] = days }
            settings["RETENTION_INTERVAL_MS"] = String(max(1_000, window * 1_000 / 6))
        }
        let process = try target.launch(
            topic: topic, group: "soak-\(runID)", databaseURL: databaseURL, settings: settings,
            log: logs.map { "\($0)/soak-\(runID).log" })
        defer {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        let metrics = "http://127.0.0.1:\(port)/metrics"
        try await waitForMetrics(metrics, http: http)
        _ = sink.drain()

        say("")
        say("pruning \(pruning ? "ON, every window \(window) s" : "OFF"):")
        say(
            "     s  total MiB  reminders transitions   attempts      inbox     status       kept   ingest/s  delivered/s   pruned"
        )
        let logger = Logger(label: "soak-benchmark")
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        let hook = "https://127.0.0.1:\(sink.port)/hook"
        var samples: [Sample] = []
        var delivered = 0
        try await DatabaseConfiguration(url: databaseURL).withClient(logger: logger) { database in
            let clock = ContinuousClock()
            let start = clock.now
            let startedAt = Date().timeIntervalSince1970
            var published = 0
            var nextSample = 0
            for tick in 0..<(seconds * 10) {
                try await clock.sleep(until: start + .milliseconds(tick * 100))
                let count = rate / 10 + (tick % 10 < rate % 10 ? 1 : 0)
                let now = Date().timeIntervalSince1970
                let messages = (0..<count).map { offset in
                    let index = published + offset
                    return KafkaProducerMessage(
                        topic: topic, key: Array("user-\(index % 10_000)".utf8),
                        value: BenchmarkEvent.webhook("soak-\(index)", user: index % 10_000, dueAt: now + 1, url: hook))
                }
                published += count
                for result in await producer.send(messages) { _ = try result.get() }
                if tick % 10 == 0 { delivered += sink.drain().count }
                if tick == nextSample * sample * 10 {
                    nextSample += 1
                    let taken = try await take(database, metrics: metrics, http: http, delivered: delivered)
                    let at = taken.at - startedAt
                    let sampled = Sample(
                        at: at, sizes: taken.sizes, stored: taken.stored, delivered: delivered, pruned: taken.pruned)
                    print(sampled, previous: samples.last)
                    samples.append(sampled)
                }
            }
            await producer.close()
            try await Task.sleep(for: .seconds(3))
            delivered += sink.drain().count
            let last = try await take(database, metrics: metrics, http: http, delivered: delivered)
            let final = Sample(
                at: last.at - startedAt, sizes: last.sizes, stored: last.stored, delivered: delivered,
                pruned: last.pruned)
            print(final, previous: samples.last)
            samples.append(final)
        }
        let peak = peakRSSKiB(of: process.processIdentifier)
        let first = samples[0]
        let end = samples[samples.count - 1]
        return Phase(
            pruning: pruning, samples: samples,
            ingestRate: (end.stored - first.stored) / max(end.at - first.at, 0.001),
            deliveryRate: Double(end.delivered - first.delivered) / max(end.at - first.at, 0.001), peakRSSKiB: peak)
    }

    private func print(_ sample: Sample, previous: Sample?) {
        let mib = { (bytes: Int64) in String(format: "%9.1f", Double(bytes) / 1_048_576) }
        let elapsed = previous.map { max(sample.at - $0.at, 0.001) }
        let ingest = elapsed.map { (sample.stored - previous!.stored) / $0 }
        let delivered = elapsed.map { Double(sample.delivered - previous!.delivered) / $0 }
        say(
            String(format: "%6.0f", sample.at) + "  " + mib(sample.total) + "  "
                + Self.tables.map { mib(sample.sizes[$0] ?? 0) }.joined(separator: "  ") + "  "
                + String(format: "%9.0f  %11.0f  %7.0f", ingest ?? 0, delivered ?? 0, sample.pruned))
    }

    private func summarize(_ phases: [Phase]) {
        say("")
        say("summary (sizes with indexes; 'after the first window' compares the first sample at or past 2 windows")
        say("with the last):")
        for phase in phases {
            let settled = phase.samples.first { $0.at >= Double(2 * window) } ?? phase.samples[0]
            let end = phase.samples[phase.samples.count - 1]
            let growth = Double(end.total - settled.total) / Double(max(settled.total, 1)) * 100
            say(
                String(
                    format:
                        "  pruning %@: %.1f MiB at %.0f s → %.1f MiB at %.0f s (%+.0f%%); ingest %.0f/s, delivered %.0f/s, peak RSS %.1f MiB",
                    phase.pruning ? "on " : "off", Double(settled.total) / 1_048_576, settled.at,
                    Double(end.total) / 1_048_576, end.at, growth, phase.ingestRate, phase.deliveryRate,
                    Double(phase.peakRSSKiB) / 1024))
        }
        if phases.count == 2, phases[0].ingestRate > 0, phases[0].deliveryRate > 0 {
            say(
                String(
                    format: "  on/off: ingest %.2f, delivered %.2f", phases[1].ingestRate / phases[0].ingestRate,
                    phases[1].deliveryRate / phases[0].deliveryRate))
        }
    }

    /// The tables' sizes and the service's counters now.
    private func take(_ database: PostgresClient, metrics: String, http: HTTPClient, delivered: Int) async throws
        -> (at: Double, sizes: [String: Int64], stored: Double, pruned: Double)
    {
        let logger = Logger(label: "soak-benchmark")
        var sizes: [String: Int64] = [:]
        let rows = try await database.query(
            "SELECT relname::text, pg_total_relation_size(oid) FROM pg_class WHERE relkind = 'r' AND relname = ANY(\(Self.tables))",
            logger: logger)
        for try await (name, size) in rows.decode((String, Int64).self) { sizes[name] = size }
        let text = try await scrape(metrics, http: http)
        return (
            Date().timeIntervalSince1970, sizes, Self.sum(text, "notification_events_stored_total"),
            Self.sum(text, "notification_retention_pruned_rows_total")
        )
    }

    /// The sum of a metric's series in a Prometheus text exposition.
    static func sum(_ text: String, _ name: String) -> Double {
        text.split(separator: "\n").filter { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }.compactMap {
            $0.split(separator: " ").last.flatMap { Double($0) }
        }.reduce(0, +)
    }

    private func scrape(_ url: String, http: HTTPClient) async throws -> String {
        let response = try await http.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
        return String(buffer: try await response.body.collect(upTo: 16 << 20))
    }

    private func waitForMetrics(_ url: String, http: HTTPClient) async throws {
        for _ in 0..<300 {
            if (try? await scrape(url, http: http)) != nil { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("the service did not answer \(url) within 30 s")
    }

    /// A PostgreSQL setting of the server the benchmark runs on.
    private func setting(_ name: String) async throws -> String {
        let logger = Logger(label: "soak-benchmark")
        return try await DatabaseConfiguration(url: target.databaseURL).withClient(logger: logger) { client in
            var value = "?"
            for try await text in try await client.query(
                PostgresQuery(unsafeSQL: "SELECT current_setting('\(name)')"), logger: logger
            ).decode(String.self) { value = text }
            return value
        }
    }
}
