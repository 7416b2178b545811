import ArgumentParser
import AsyncHTTPClient
import BenchmarkSupport
import Foundation
import Kafka
import NIOCore
import NIOSSL
import PostgresNIO
import ReminderStore

/// Measures delivery as it runs in production: a `notification-service serve` process
/// ingests reminder events from the broker and delivers them to a loopback HTTPS webhook
/// receiver (in this process). Two loads: the 09:00 herd (every reminder due at the
/// same instant) and a steady stream due one second after it is published. Each round
/// measures the receiver's raw POST rate (the baseline, same concurrency) and then the
/// service on a fresh topic and database; prints every round and the medians: deliveries
/// per second beside the baseline, lateness percentiles, CPU per delivery of the service
/// and of PostgreSQL, and the service's peak RSS.
@main
struct DispatchBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dispatch-benchmark",
        abstract: "Delivery rate, lateness and cost of the service against a loopback webhook receiver.",
        discussion:
            "Run it through scripts/bench-dispatch.sh, which starts the broker and database, makes a certificate and builds in release mode."
    )

    @OptionGroup var target: ServiceUnderTest

    @OptionGroup var receiver: ReceiverCertificate

    @Option(help: "Reminders in the herd, all due at the same instant.")
    var herd = 100_000

    @Option(help: "Seconds between publishing the herd and its due time (ingest must finish first).")
    var herdLead = 40

    @Option(help: "Reminders per second of the steady stream.")
    var steadyRate = 1_000

    @Option(help: "Seconds of the steady stream.")
    var steadySeconds = 60

    @Option(help: "Sends in flight (the service's DISPATCH_CONCURRENCY and the baseline's).")
    var concurrency = 128

    @Option(help: "Milliseconds the receiver holds each answer (a slow receiver; 0: at once).")
    var answerDelayMs = 0

    @Option(help: "Requests of the baseline.")
    var baselineRequests = 20_000

    @Option(help: "Rounds, each a baseline and the service on a fresh topic and database.")
    var rounds = 3

    @Flag(
        help: """
            In each round also run the service as two serve processes in one consumer group (same topic, same \
            database) for the herd, and print herd deliveries two / one, both processes' CPU and the machine's \
            idle share.
            """)
    var twoInstances = false

    @Option(help: "A file for the service's log (none when not given); a second instance logs to <name>-2.<ext>.")
    var serviceLog: String?

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        guard answerDelayMs >= 0 else { throw ValidationError("--answer-delay-ms must not be negative") }
    }

    func run() async throws {
        let runID = UUID().uuidString.prefix(8).lowercased()
        let client = KafkaClientConfiguration(
            bootstrapServers: target.bootstrapServers.split(separator: ",").map(String.init))
        let kafkaAdmin = try KafkaAdmin(configuration: client)
        let durability = try await PostgresDurability.read(databaseURL: target.databaseURL)
        say(durability.header)
        if target.postmaster == nil { say("PostgreSQL's CPU is not measured (no --postgres-pid-file)") }
        let delay = answerDelayMs
        if delay > 0 { say("the receiver holds every answer \(delay) ms") }
        let sink = try await WebhookSink(certificateFile: receiver.certificate, keyFile: receiver.key) { _, _ in
            delay > 0 ? .after(milliseconds: delay, .ok) : .ok
        }
        let hook = "https://127.0.0.1:\(sink.port)/hook"
        let loads = Loads(herd: herd, concurrency: concurrency, steadyRate: steadyRate, steadySeconds: steadySeconds)

        var results: [RoundResult] = []
        for round in 1...rounds {
            say("")
            say("round \(round) of \(rounds) \(durability.tag)")
            let baseline = try await measureBaseline(url: hook, sink: sink)
            say(
                String(
                    format: "baseline: %d POSTs in %.2f s with %d in flight on %d connections: %.0f requests/s",
                    baselineRequests, baseline.seconds, concurrency, Self.connectionsPerHost, baseline.rate))
            var result = RoundResult(baseline: baseline.rate)
            // Each run on a topic and database of its own.
            func run(_ name: String, instances: Int = 1, steady: Bool = true, settings: [String: String] = [:])
                async throws -> Outcome
            {
                let topic = "dispatch-bench-\(runID)-r\(round)\(name.isEmpty ? "" : "-" + name)"
                for suffix in ["", ".dlq", ".status"] {
                    try await kafkaAdmin.createTopic(topic + suffix, partitions: 8)
                }
                return try await measureService(
                    topic: topic, database: topic.replacingOccurrences(of: "-", with: "_"), client: client,
                    sink: sink, hook: hook, instances: instances, steady: steady, settings: settings)
            }
            result.plain = try await run("")
            say("")
            result.plain?.print(loads, baseline: baseline.rate, tag: durability.tag)
            if twoInstances {
                result.pair = try await run("pair", instances: 2, steady: false)
                say("")
                say("two instances (one consumer group, same topic and database), the herd only:")
                result.pair?.print(loads, baseline: baseline.rate, tag: durability.tag)
                if let pair = result.pair, let plain = result.plain {
                    say(String(format: "  herd deliveries, two / one:  %.2f", pair.herdRate / plain.herdRate))
                }
            }
            if target.alsoEncrypted {
                result.sealed = try await run("sealed", settings: ServiceUnderTest.encryptionSettings())
                say("")
                say("sealed at rest (DATA_ENCRYPTION_KEYS set):")
                result.sealed?.print(loads, baseline: baseline.rate, tag: durability.tag)
                if let sealed = result.sealed, let plain = result.plain {
                    say(
                        String(format: "  herd deliveries, sealed / plaintext:  %.2f", sealed.herdRate / plain.herdRate)
                    )
                    say(
                        String(
                            format: "  steady p99 lateness, sealed / plaintext:  %.2f (%.0f ms / %.0f ms)",
                            sealed.steady.p99 / max(plain.steady.p99, 0.001), sealed.steady.p99, plain.steady.p99))
                }
            }
            results.append(result)
        }
        await sink.close()
        DispatchSummary(rounds: results, loads: loads, tag: durability.tag).print()
    }

    private func measureBaseline(url: String, sink: WebhookSink) async throws -> (rate: Double, seconds: Double) {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots = [.file(receiver.certificate)]
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        // As many connections per host as the service keeps: its default, or the
        // HTTP_PROVIDER_CONNECTIONS_PER_HOST it inherits from this process.
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: Self.connectionsPerHost)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let body = Self.webhookBody(reminderID: "baseline", dueAt: Date().timeIntervalSince1970)
        let start = ContinuousClock.now
        let (requests, workers) = (baselineRequests, concurrency)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    for _ in stride(from: worker, to: requests, by: workers) {
                        var request = HTTPClientRequest(url: url)
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(ByteBuffer(bytes: body))
                        let response = try await client.execute(request, timeout: .seconds(30))
                        _ = try await response.body.collect(upTo: 1 << 16)
                    }
                }
            }
            try await group.waitForAll()
        }
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        try await client.shutdown()
        _ = sink.drain()
        return (Double(baselineRequests) / seconds, seconds)
    }

    /// The service's HTTP connections per host, which the baseline keeps too (64: the
    /// service's default, `HTTPTransport.Configuration`, which this package cannot import).
    static var connectionsPerHost: Int {
        ProcessInfo.processInfo.environment["HTTP_PROVIDER_CONNECTIONS_PER_HOST"].flatMap { Int($0) } ?? 64
    }

    /// What the service sends, for the baseline's requests.
    static func webhookBody(reminderID: String, dueAt: Double) -> [UInt8] {
        Array(
            """
            {"reminder_id":"\(reminderID)","user_id":"user-1","correlation_id":null,"due_at":"\(BenchmarkEvent.text(dueAt))",\
            "attempt":1,"title":"Stand-up","body":"The daily stand-up starts now.","data":{"room":"4.12"}}
            """.utf8)
    }
}
