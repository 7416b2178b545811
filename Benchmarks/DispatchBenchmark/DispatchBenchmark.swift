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
/// same instant) and a steady stream due one second after it is published. Prints
/// deliveries per second beside the raw POST rate of the same receiver (baseline,
/// measured in the same run with the same concurrency), lateness percentiles, and the
/// service's peak RSS.
@main
struct DispatchBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dispatch-benchmark",
        abstract: "Delivery rate and lateness of the service against a loopback webhook receiver.",
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
    var concurrency = 64

    @Option(help: "Requests of the baseline.")
    var baselineRequests = 20_000

    @Option(help: "A file for the service's log (none when not given).")
    var serviceLog: String?

    func run() async throws {
        let runID = UUID().uuidString.prefix(8).lowercased()
        let topic = "dispatch-bench-\(runID)"
        let client = KafkaClientConfiguration(
            bootstrapServers: target.bootstrapServers.split(separator: ",").map(String.init))
        let kafkaAdmin = try KafkaAdmin(configuration: client)
        try await kafkaAdmin.createTopic(topic, partitions: 8)
        try await kafkaAdmin.createTopic(topic + ".dlq", partitions: 8)
        try await kafkaAdmin.createTopic(topic + ".status", partitions: 8)
        let sink = try await WebhookSink(certificateFile: receiver.certificate, keyFile: receiver.key)
        let hook = "https://127.0.0.1:\(sink.port)/hook"

        let baseline = try await measureBaseline(url: hook, sink: sink)
        say(
            String(
                format: "baseline: %d POSTs in %.2f s with %d in flight: %.0f requests/s", baselineRequests,
                baseline.seconds, concurrency, baseline.rate))

        let plain = try await measureService(
            topic: topic, database: "dispatch_bench_\(runID)", client: client, sink: sink, hook: hook, settings: [:])
        say("")
        plain.print(
            herd: herd, concurrency: concurrency, steadyRate: steadyRate, steadySeconds: steadySeconds,
            baseline: baseline.rate)
        if target.alsoEncrypted {
            // The same loads on a topic and database of their own, with the personal fields sealed.
            try await kafkaAdmin.createTopic(topic + "-sealed", partitions: 8)
            try await kafkaAdmin.createTopic(topic + "-sealed.dlq", partitions: 8)
            try await kafkaAdmin.createTopic(topic + "-sealed.status", partitions: 8)
            let sealed = try await measureService(
                topic: topic + "-sealed", database: "dispatch_bench_\(runID)_sealed", client: client, sink: sink,
                hook: hook,
                settings: ServiceUnderTest.encryptionSettings())
            say("")
            say("sealed at rest (DATA_ENCRYPTION_KEYS set):")
            sealed.print(
                herd: herd, concurrency: concurrency, steadyRate: steadyRate, steadySeconds: steadySeconds,
                baseline: baseline.rate)
            say("")
            say(String(format: "herd deliveries, sealed / plaintext:  %.2f", sealed.herdRate / plain.herdRate))
            say(
                String(
                    format: "steady p99 lateness, sealed / plaintext:  %.2f (%.0f ms / %.0f ms)",
                    sealed.steady.p99 / max(plain.steady.p99, 0.001), sealed.steady.p99, plain.steady.p99))
        }
        await sink.close()
    }

    /// One run of the service on `topic` and a fresh database: the herd, then the steady stream.
    private func measureService(
        topic: String, database: String, client: KafkaClientConfiguration, sink: WebhookSink, hook: String,
        settings: [String: String]
    ) async throws -> Outcome {
        let databaseURL = try await target.createDatabase(database)
        let process = try target.launch(
            topic: topic, group: "\(topic)-group", databaseURL: databaseURL,
            settings: [
                "DISPATCH_CONCURRENCY": String(concurrency), "WEBHOOK_SIGNING_SECRET": "benchmark-signing-secret",
                "WEBHOOK_ALLOW_LOOPBACK": "true", "HTTP_PROVIDER_CA_FILE": receiver.certificate,
            ].merging(settings) { $1 }, log: serviceLog)
        defer {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))

        // The herd: every reminder due at the same instant, `herdLead` seconds ahead.
        let herdDue = Date().addingTimeInterval(Double(herdLead)).timeIntervalSince1970.rounded(.up)
        for start in stride(from: 0, to: herd, by: 10_000) {
            let batch = (start..<min(start + 10_000, herd)).map { index in
                KafkaProducerMessage(
                    topic: topic, key: Array("user-\(index % 10_000)".utf8),
                    value: BenchmarkEvent.webhook("herd-\(index)", user: index % 10_000, dueAt: herdDue, url: hook))
            }
            for result in await producer.send(batch) { _ = try result.get() }
        }
        say("published a herd of \(herd) reminders due at \(BenchmarkEvent.text(herdDue))")
        let herdArrivals = try await collect(herd, from: sink, deadline: herdDue + 600)
        let herdPeak = peakRSSKiB(of: process.processIdentifier)
        let lastArrival = herdArrivals.map(\.arrivedAt).max() ?? herdDue
        let herdRate = Double(herdArrivals.count) / max(lastArrival - herdDue, 0.001)
        let herdReport = Report(herdArrivals)

        // The steady stream: `steadyRate` a second, each due one second after publishing.
        let clock = ContinuousClock()
        let streamStart = clock.now
        var published = 0
        for second in 0..<steadySeconds {
            for slice in 0..<10 {
                let target = streamStart + .milliseconds(second * 1_000 + slice * 100)
                try await clock.sleep(until: target)
                let count = steadyRate / 10 + (slice < steadyRate % 10 ? 1 : 0)
                let now = Date().timeIntervalSince1970
                let messages = (0..<count).map { offset in
                    let index = published + offset
                    return KafkaProducerMessage(
                        topic: topic, key: Array("user-\(index % 10_000)".utf8),
                        value: BenchmarkEvent.webhook(
                            "steady-\(index)", user: index % 10_000, dueAt: now + 1, url: hook))
                }
                published += count
                for result in await producer.send(messages) { _ = try result.get() }
            }
        }
        await producer.close()
        let steadyArrivals = try await collect(published, from: sink, deadline: Date().timeIntervalSince1970 + 300)
        let steadyReport = Report(steadyArrivals)
        let peak = peakRSSKiB(of: process.processIdentifier)

        return Outcome(herdRate: herdRate, herd: herdReport, steady: steadyReport, herdPeak: herdPeak, peak: peak)
    }

    /// What one run of the service measured.
    struct Outcome {
        let herdRate: Double
        let herd: Report
        let steady: Report
        let herdPeak: Int
        let peak: Int

        func print(herd count: Int, concurrency: Int, steadyRate: Int, steadySeconds: Int, baseline: Double) {
            say("09:00 herd (\(count) reminders due at one instant, webhook over HTTPS, \(concurrency) in flight):")
            say(String(format: "  deliveries:        %.0f /s from the due time to the last delivery", herdRate))
            say(String(format: "  baseline:          %.0f /s raw POSTs to the same receiver", baseline))
            say(String(format: "  ratio:             %.2f", herdRate / baseline))
            say("  lateness:          \(herd)")
            say("  duplicates:        \(herd.duplicates)")
            say(String(format: "  peak RSS:          %.1f MiB", Double(herdPeak) / 1024))
            say(
                "steady stream (\(steadyRate)/s for \(steadySeconds) s, each due 1 s after publishing, through Kafka and ingest):"
            )
            say("  lateness:          \(steady)  (target p99 < 250 ms)")
            say("  duplicates:        \(steady.duplicates)")
            say(String(format: "service peak RSS:    %.1f MiB", Double(peak) / 1024))
        }
    }

    /// Lateness percentiles of a set of arrivals.
    struct Report: CustomStringConvertible {
        let p50: Double
        let p99: Double
        let max: Double
        let duplicates: Int

        init(_ arrivals: [WebhookSink.Arrival]) {
            let lateness = arrivals.map { ($0.arrivedAt - $0.dueAt) * 1_000 }.sorted()
            func percentile(_ p: Double) -> Double {
                lateness.isEmpty ? 0 : lateness[min(lateness.count - 1, Int(Double(lateness.count) * p))]
            }
            p50 = percentile(0.5)
            p99 = percentile(0.99)
            max = lateness.last ?? 0
            duplicates = arrivals.count - Set(arrivals.map(\.reminderID)).count
        }

        var description: String { String(format: "p50 %.0f ms, p99 %.0f ms, max %.0f ms", p50, p99, max) }
    }

    /// Waits until `expected` reminders have arrived (and a second more, to see any
    /// duplicate), then takes them.
    private func collect(_ expected: Int, from sink: WebhookSink, deadline: Double) async throws -> [WebhookSink
        .Arrival]
    {
        while sink.count < expected {
            guard Date().timeIntervalSince1970 < deadline else {
                throw ValidationError("only \(sink.count) of \(expected) reminders arrived in time")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .seconds(1))
        return sink.drain()
    }

    private func measureBaseline(url: String, sink: WebhookSink) async throws -> (rate: Double, seconds: Double) {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots = [.file(receiver.certificate)]
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        // The service's HTTP transport keeps 32 connections per host by default.
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 32)
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

    /// What the service sends, for the baseline's requests.
    static func webhookBody(reminderID: String, dueAt: Double) -> [UInt8] {
        Array(
            """
            {"reminder_id":"\(reminderID)","user_id":"user-1","correlation_id":null,"due_at":"\(BenchmarkEvent.text(dueAt))",\
            "attempt":1,"title":"Stand-up","body":"The daily stand-up starts now.","data":{"room":"4.12"}}
            """.utf8)
    }
}
