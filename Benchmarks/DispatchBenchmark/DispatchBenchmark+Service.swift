import ArgumentParser
import BenchmarkSupport
import Foundation
import Kafka

extension DispatchBenchmark {
    /// One run of the service, `instances` processes in one group on `topic` and a fresh
    /// database: the herd, then (with `steady`) the steady stream.
    func measureService(
        topic: String, database: String, client: KafkaClientConfiguration, sink: WebhookSink, hook: String,
        instances: Int, steady: Bool, settings: [String: String]
    ) async throws -> Outcome {
        let databaseURL = try await target.createDatabase(database)
        let processes = try (0..<instances).map { instance in
            try target.launch(
                topic: topic, group: "\(topic)-group", databaseURL: databaseURL,
                settings: [
                    "DISPATCH_CONCURRENCY": String(concurrency), "WEBHOOK_SIGNING_SECRET": "benchmark-signing-secret",
                    "WEBHOOK_ALLOW_LOOPBACK": "true", "HTTP_PROVIDER_CA_FILE": receiver.certificate,
                    // Any free HTTP port: two instances cannot both have 8080.
                    "HTTP_PORT": "0",
                ].merging(settings) { $1 }, log: serviceLog.map { Self.log($0, instance: instance) })
        }
        defer {
            for process in processes { kill(process.processIdentifier, SIGTERM) }
            for process in processes { process.waitUntilExit() }
        }
        let pids = processes.map(\.processIdentifier)
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
        // The herd's CPU window opens at the due time (ingest is done by then, given the
        // lead) and closes with the last delivery: the cost of delivering.
        let untilDue = herdDue - Date().timeIntervalSince1970
        if untilDue > 0 { try await Task.sleep(for: .milliseconds(Int(untilDue * 1_000))) }
        let (herdArrivals, herdCost) = try await collect(
            herd, from: sink, deadline: herdDue + 600, running: processes,
            window: CPUWindow(processes: pids, postmaster: target.postmaster, broker: target.broker)
        )
        let herdPeaks = pids.map(peakRSSKiB(of:))
        let lastArrival = herdArrivals.map(\.arrivedAt).max() ?? herdDue
        var outcome = Outcome(
            herdRate: Double(herdArrivals.count) / max(lastArrival - herdDue, 0.001), herd: Report(herdArrivals),
            herdCost: herdCost, herdPeaks: herdPeaks)
        guard steady else {
            await producer.close()
            outcome.peaks = herdPeaks
            return outcome
        }

        // The steady stream: `steadyRate` a second, each due one second after publishing;
        // its CPU window spans the stream and its last delivery: ingest and delivery.
        let clock = ContinuousClock()
        let streamStart = clock.now
        let window = CPUWindow(processes: pids, postmaster: target.postmaster, broker: target.broker)
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
        let (steadyArrivals, steadyCost) = try await collect(
            published, from: sink, deadline: Date().timeIntervalSince1970 + 300, running: processes, window: window)
        outcome.steady = Report(steadyArrivals)
        outcome.steadyCost = steadyCost
        outcome.steadyCount = published
        outcome.peaks = pids.map(peakRSSKiB(of:))
        return outcome
    }

    /// The log file of instance `instance` (from 0): `path` for the first, `<name>-2.<ext>` for the second.
    static func log(_ path: String, instance: Int) -> String {
        guard instance > 0 else { return path }
        let url = URL(fileURLWithPath: path)
        let name = url.deletingPathExtension().lastPathComponent + "-\(instance + 1)"
        let file = url.pathExtension.isEmpty ? name : name + "." + url.pathExtension
        return url.deletingLastPathComponent().appendingPathComponent(file).path
    }

    /// Waits until `expected` reminders have arrived, closes `window` then, waits a second
    /// more (to see any duplicate), and takes the arrivals. Throws when one of `running` exits.
    private func collect(
        _ expected: Int, from sink: WebhookSink, deadline: Double, running: [Process], window: CPUWindow
    ) async throws -> ([WebhookSink.Arrival], CPUCost) {
        while sink.count < expected {
            if let gone = running.first(where: { !$0.isRunning }) {
                throw BenchmarkFailure("notification-service exited early (status \(gone.terminationStatus))")
            }
            guard Date().timeIntervalSince1970 < deadline else {
                throw BenchmarkFailure("only \(sink.count) of \(expected) reminders arrived in time")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let cost = window.close()
        try await Task.sleep(for: .seconds(1))
        return (sink.drain(), cost)
    }
}
