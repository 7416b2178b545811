import ArgumentParser
import Foundation
import Kafka

/// Measures the Swift wrapper against librdkafka driven directly from C, in one run on
/// the same broker, and prints both rates and their ratio.
@main
struct KafkaBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka-benchmark",
        abstract: "Produce and consume through the Kafka module and through plain librdkafka; print the ratio.",
        discussion: "Run it through scripts/bench.sh, which starts the broker and builds the C baseline."
    )

    @Option(help: "Kafka bootstrap servers.")
    var bootstrapServers = ProcessInfo.processInfo.environment["KAFKA_BOOTSTRAP_SERVERS"] ?? "127.0.0.1:9092"

    @Option(
        help: "Path of the C baseline (Benchmarks/baseline/rdkafka_baseline.c, compiled); not needed with --swift-only."
    )
    var baseline: String?

    @Option(help: "Messages per measurement.")
    var messages = 1_000_000

    @Option(help: "Value size in bytes.")
    var size = 300

    @Option(help: "Partitions of the benchmark topics.")
    var partitions: Int32 = 8

    @Option(help: "Rounds; the median of each measurement and of the per-round ratios is reported.")
    var rounds = 3

    @Flag(help: "Only run the Swift side (for leak checks under valgrind).")
    var swiftOnly = false

    /// Tansu sends ~5 MB fetch responses; without this librdkafka backs off a second
    /// each time its queue is full (../shared/design/TEST-BROKER.md).
    static let consumerProperties = ["fetch.queue.backoff.ms": "10"]

    func validate() throws {
        if baseline == nil && !swiftOnly {
            throw ValidationError("--baseline is required unless --swift-only is given")
        }
        if messages < 1 || size < 0 || rounds < 1 { throw ValidationError("--messages and --rounds must be positive") }
    }

    func run() async throws {
        let client = KafkaClientConfiguration(
            bootstrapServers: bootstrapServers.split(separator: ",").map(String.init), clientID: "kafka-benchmark")
        let admin = try KafkaAdmin(configuration: client)
        let runID = UUID().uuidString.prefix(8).lowercased()
        say("librdkafka \(KafkaLibrary.version); \(messages) messages of \(size) bytes; \(partitions) partitions")

        var results: [String: [Double]] = [:]
        func record(_ name: String, _ rate: Double) {
            results[name, default: []].append(rate)
            say("  \(name): \(Self.format(rate)) msg/s")
        }
        for round in 1...rounds {
            say("round \(round)")
            let baseTopic = "bench-\(runID)-\(round)-c"
            let swiftTopic = "bench-\(runID)-\(round)-swift"
            try await admin.createTopic(baseTopic, partitions: partitions)
            try await admin.createTopic(swiftTopic, partitions: partitions)
            // Alternate which side goes first, so that neither always meets a warmer broker.
            let baselineFirst = round % 2 == 1

            if !swiftOnly && baselineFirst {
                record(
                    "produce baseline",
                    try runBaseline(["produce", bootstrapServers, baseTopic, String(messages), String(size)]))
            }
            record("produce Kafka module", try await produceSwift(client, topic: swiftTopic))
            if !swiftOnly && !baselineFirst {
                record(
                    "produce baseline",
                    try runBaseline(["produce", bootstrapServers, baseTopic, String(messages), String(size)]))
            }
            // Every consumer reads the same topic (the baseline's when there is one).
            let source = swiftOnly ? swiftTopic : baseTopic
            let baselineConsume =
                ["consume", bootstrapServers, source, "bench-c-\(runID)-\(round)", String(messages)]
                + Self.consumerProperties.map { "\($0.key)=\($0.value)" }
            if !swiftOnly && baselineFirst { record("consume baseline", try runBaseline(baselineConsume)) }
            record(
                "consume Kafka module",
                try await consumeSwift(client, topic: source, group: "bench-swift-\(runID)-\(round)", batched: false))
            record(
                "consume Kafka module (batches)",
                try await consumeSwift(client, topic: source, group: "bench-swift-b-\(runID)-\(round)", batched: true))
            if !swiftOnly && !baselineFirst { record("consume baseline", try runBaseline(baselineConsume)) }
        }
        say("")
        // Each round's ratio compares two runs made moments apart on the same broker; the
        // median of those ratios is steadier than a ratio of medians taken from different rounds.
        say("operation                 baseline msg/s  Kafka module msg/s  ratio per round    median ratio")
        for (operation, swiftName, baseName) in [
            ("produce", "produce Kafka module", "produce baseline"),
            ("consume (messages)", "consume Kafka module", "consume baseline"),
            ("consume (batches)", "consume Kafka module (batches)", "consume baseline"),
        ] {
            let swiftRates = results[swiftName]!
            let label = operation.padding(toLength: 25, withPad: " ", startingAt: 0)
            guard let baseRates = results[baseName] else {
                say(label + "-".leftPadded(15) + Self.format(Self.median(swiftRates)).leftPadded(20))
                continue
            }
            let ratios = zip(swiftRates, baseRates).map { $0 / $1 }
            say(
                label + Self.format(Self.median(baseRates)).leftPadded(15)
                    + Self.format(Self.median(swiftRates)).leftPadded(20) + "  "
                    + ratios.map { String(format: "%.2f", $0) }.joined(separator: " ").padding(
                        toLength: 17, withPad: " ", startingAt: 0)
                    + String(format: "%14.2f", Self.median(ratios)))
        }
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    private func produceSwift(_ client: KafkaClientConfiguration, topic: String) async throws -> Double {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: client))
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: size)
        let batchSize = 5_000
        // Keys are made before the clock starts: formatting them is not the wrapper's cost.
        let keys = (0..<10_000).map { Array("user-\($0)".utf8) }
        let start = ContinuousClock.now
        // Up to four batches in flight, so that the broker always has work queued.
        let delivered = try await withThrowingTaskGroup(of: Int.self) { group in
            var sent = 0
            var delivered = 0
            var inFlight = 0
            while sent < messages {
                let count = min(batchSize, messages - sent)
                let batch = (sent..<(sent + count)).map { index in
                    KafkaProducerMessage(topic: topic, key: keys[index % 10_000], value: value)
                }
                sent += count
                group.addTask {
                    let results = await producer.send(batch)
                    for result in results { _ = try result.get() }
                    return results.count
                }
                inFlight += 1
                if inFlight == 4, let done = try await group.next() {
                    delivered += done
                    inFlight -= 1
                }
            }
            for try await done in group { delivered += done }
            return delivered
        }
        let seconds = (ContinuousClock.now - start).seconds
        await producer.close()
        guard delivered == messages else { throw ValidationError("delivered \(delivered) of \(messages)") }
        return Double(delivered) / seconds
    }

    private func consumeSwift(
        _ client: KafkaClientConfiguration, topic: String, group: String, batched: Bool
    ) async throws -> Double {
        var properties = client
        properties.properties.merge(Self.consumerProperties) { $1 }
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(client: properties, groupID: group, sessionTimeout: .seconds(6)))
        try consumer.subscribe(topics: [topic])
        var received = 0
        var bytes = 0
        var start: ContinuousClock.Instant?
        // The clock starts at the first message, so that joining the group is not counted.
        if batched {
            for try await batch in consumer.batches {
                if start == nil { start = .now }
                for message in batch { bytes += message.value?.count ?? 0 }
                received += batch.count
                if received >= messages { break }
            }
        } else {
            for try await message in consumer.messages {
                if start == nil { start = .now }
                received += 1
                bytes += message.value?.count ?? 0
                if received == messages { break }
            }
        }
        let seconds = (ContinuousClock.now - start!).seconds
        await consumer.close()
        guard received == messages, bytes == messages * size else {
            throw ValidationError("consumed \(received) messages, \(bytes) bytes")
        }
        return Double(received) / seconds
    }

    private func runBaseline(_ arguments: [String]) throws -> Double {
        let process = Process()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: baseline!)
        process.arguments = arguments
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let line = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0, let rate = line.split(separator: " ").last.flatMap({ Double($0) }) else {
            throw ValidationError("baseline \(arguments[0]) failed (status \(process.terminationStatus)): \(line)")
        }
        return rate
    }

    static func format(_ rate: Double) -> String {
        String(format: "%.0f", rate)
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

/// Writes a line unbuffered, so that progress shows also when the output goes to a file.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
