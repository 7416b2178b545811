import ArgumentParser
import BenchmarkSupport
import Foundation
import Kafka
import Logging
import PostgresNIO
import ReminderStore

/// Shows the webhook rate limit shared by several instances: `--instances` `serve`
/// processes, each with `WEBHOOK_RATE_LIMIT` = `--rate` and `WEBHOOK_RATE_BURST` =
/// `--burst`, deliver `--reminders` reminders all due at one instant to one loopback
/// receiver (in this process), which notes when each arrives. Prints the receiver's
/// busiest second (by the clock's seconds, and over any one-second window), which the
/// limit keeps within rate + burst however many instances there are, and whether every
/// reminder arrived once.
@main
struct RateLimitBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rate-limit-benchmark",
        abstract: "Arrivals per second at a receiver behind a rate limit shared by several instances.",
        discussion:
            "Run it through scripts/bench-rate-limit.sh, which starts the broker and database, makes a certificate and builds."
    )

    @OptionGroup var target: ServiceUnderTest

    @OptionGroup var receiver: ReceiverCertificate

    @Option(help: "serve processes sharing the limit.")
    var instances = 3

    @Option(help: "WEBHOOK_RATE_LIMIT: sends a second, for all instances together.")
    var rate = 50

    @Option(help: "WEBHOOK_RATE_BURST.")
    var burst = 10

    @Option(help: "Reminders, all due at the same instant.")
    var reminders = 3_000

    @Option(help: "Seconds between publishing and the due time (ingest finishes first).")
    var lead = 20

    @Option(help: "A folder for the services' logs, one file each (none when not given).")
    var serviceLogs: String?

    func run() async throws {
        guard (1...16).contains(instances), rate > 0, burst > 0, reminders > 0 else {
            throw ValidationError("--instances 1...16, --rate, --burst and --reminders above 0")
        }
        let runID = UUID().uuidString.prefix(8).lowercased()
        let topic = "rate-bench-\(runID)"
        let client = KafkaClientConfiguration(
            bootstrapServers: target.bootstrapServers.split(separator: ",").map(String.init))
        let kafkaAdmin = try KafkaAdmin(configuration: client)
        try await kafkaAdmin.createTopic(topic, partitions: 6)
        try await kafkaAdmin.createTopic(topic + ".dlq", partitions: 6)
        try await kafkaAdmin.createTopic(topic + ".status", partitions: 6)
        let sink = try await WebhookSink(certificateFile: receiver.certificate, keyFile: receiver.key)
        let hook = "https://127.0.0.1:\(sink.port)/hook"
        let databaseURL = try await target.createDatabase("rate_bench_\(runID)")

        var processes: [Process] = []
        defer {
            for process in processes { kill(process.processIdentifier, SIGTERM) }
            for process in processes { process.waitUntilExit() }
        }
        for index in 0..<instances {
            processes.append(
                try target.launch(
                    topic: topic, group: "rate-bench-\(runID)", databaseURL: databaseURL,
                    settings: [
                        "WEBHOOK_SIGNING_SECRET": "benchmark-signing-secret", "WEBHOOK_ALLOW_LOOPBACK": "true",
                        "HTTP_PROVIDER_CA_FILE": receiver.certificate, "HTTP_PORT": "0",
                        "WEBHOOK_RATE_LIMIT": String(rate), "WEBHOOK_RATE_BURST": String(burst),
                        "RATE_LIMIT_INSTANCES": String(instances), "LOG_LEVEL": "info",
                    ],
                    log: serviceLogs.map { "\($0)/serve-\(index).log" }))
        }

        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        let due = Date().addingTimeInterval(Double(lead)).timeIntervalSince1970.rounded(.up)
        let messages = (0..<reminders).map { index in
            KafkaProducerMessage(
                topic: topic, key: Array("user-\(index % 1_000)".utf8),
                value: Self.event("rate-\(index)", user: index % 1_000, dueAt: due, url: hook))
        }
        for result in await producer.send(messages) { _ = try result.get() }
        await producer.close()
        say("published \(reminders) reminders due at \(Self.text(due)) for \(instances) instances")

        // At the limit the last one is due to arrive (reminders - burst) / rate after the
        // due time; two minutes more before giving up.
        let deadline = due + Double(reminders - burst) / Double(rate) + 120
        while sink.count < reminders {
            guard Date().timeIntervalSince1970 < deadline, processes.allSatisfy(\.isRunning) else {
                throw ValidationError("only \(sink.count) of \(reminders) reminders arrived (or a service stopped)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        // A few seconds more, to see any duplicate.
        try await Task.sleep(for: .seconds(3))
        let arrivals = sink.arrivals.map(\.arrivedAt).sorted()
        let unique = Set(sink.arrivals.map(\.reminderID)).count
        let statements = try await rateLimitStatements(databaseURL)
        await sink.close()

        var perSecond: [Int: Int] = [:]
        for at in arrivals { perSecond[Int(at.rounded(.down)), default: 0] += 1 }
        let busiest = perSecond.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }
        // Over any one-second window [t, t + 1 s), t an arrival.
        var window = 0
        var first = 0
        for (last, at) in arrivals.enumerated() {
            while arrivals[first] <= at - 1 { first += 1 }
            window = max(window, last - first + 1)
        }
        let span = (arrivals.last ?? due) - (arrivals.first ?? due)
        say("")
        say("\(instances) instances, WEBHOOK_RATE_LIMIT=\(rate), WEBHOOK_RATE_BURST=\(burst), \(reminders) reminders")
        say("  arrived:                   \(arrivals.count) requests, \(unique) distinct reminders")
        say(
            "  busiest clock second:      \(busiest?.value ?? 0) (at \(Self.text(Double(busiest?.key ?? 0)))); limit \(rate + burst)"
        )
        say("  busiest 1-second window:   \(window)")
        say(
            String(
                format: "  first to last arrival:     %.1f s, %.1f /s on average", span,
                Double(max(0, arrivals.count - 1)) / max(span, 0.001)))
        say(
            String(
                format: "  rate-limit statements:     %d (%.2f per send)", statements,
                Double(statements) / Double(max(1, arrivals.count))))
        let within = (busiest?.value ?? 0) <= rate + burst
        let complete = unique == reminders
        say("  within rate + burst:       \(within ? "yes" : "NO")")
        say("  all \(reminders) arrived:         \(complete ? "yes" : "NO")")
        if !within || !complete { throw ExitCode(1) }
    }

    /// The UPDATEs of `rate_limits` the instances made (PostgreSQL's statistics, which
    /// may lag by a moment).
    private func rateLimitStatements(_ url: String) async throws -> Int {
        let logger = Logger(label: "rate-limit-benchmark")
        return try await DatabaseConfiguration(url: url).withClient(logger: logger) { client in
            // Statistics reach the view within a second or so of the statement.
            try await Task.sleep(for: .seconds(1))
            let rows = try await client.query(
                "SELECT coalesce(sum(n_tup_upd), 0)::int8 FROM pg_stat_user_tables WHERE relname = 'rate_limits'",
                logger: logger)
            var total = 0
            for try await count in rows.decode(Int64.self) { total = Int(count) }
            return total
        }
    }

    static func event(_ id: String, user: Int, dueAt: Double, url: String) -> [UInt8] {
        Array(
            """
            {"schema_version":1,"type":"schedule","idempotency_key":"\(id)","reminder_id":"\(id)",\
            "user_id":"user-\(user)","timezone":"Europe/Berlin","deliver_at":"\(text(dueAt))",\
            "channels":[{"type":"webhook","url":"\(url)"}],\
            "content":{"title":"Stand-up","body":"The daily stand-up starts now.","data":{"room":"4.12"}}}
            """.utf8)
    }

    /// RFC 3339, UTC, milliseconds.
    static func text(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }
}
