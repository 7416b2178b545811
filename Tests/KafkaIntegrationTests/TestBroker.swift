import Foundation
import Kafka
import TestSupport
import Testing

/// The broker the integration tests run against: `KAFKA_BOOTSTRAP_SERVERS` when set
/// (any Kafka-compatible cluster), otherwise a local Tansu started through
/// `scripts/stack.sh` on ports of its own and left running for the next run.
enum TestBroker {
    static var bootstrapServers: String { LocalStack.kafkaBootstrapServers }

    static var client: KafkaClientConfiguration {
        KafkaClientConfiguration(
            bootstrapServers: bootstrapServers.split(separator: ",").map(String.init), clientID: "kafka-tests")
    }

    /// A short session timeout: Tansu holds a join for about half of it.
    static func consumerConfiguration(group: String) -> KafkaConsumerConfiguration {
        KafkaConsumerConfiguration(
            client: client, groupID: group, sessionTimeout: .seconds(6), maxPollInterval: .seconds(30))
    }

    static func producer() throws -> KafkaProducer {
        try KafkaProducer(configuration: KafkaProducerConfiguration(client: client, messageTimeout: .seconds(30)))
    }

    /// A new topic with a unique name.
    static func makeTopic(_ prefix: String, partitions: Int32) async throws -> String {
        let name = "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
        let admin = try KafkaAdmin(configuration: client)
        try await admin.createTopic(name, partitions: partitions)
        return name
    }

    static func uniqueGroup(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }
}

/// Runs `body`, failing with `TimedOut` after `limit`.
func within<T: Sendable>(
    _ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try? await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw TimedOut(what: what) }
        return value
    }
}

/// Collects messages from the consumer's sequence in a task of its own, so that a test
/// can look at what arrived so far.
final class MessageCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [KafkaMessage] = []
    private var task: Task<Void, any Error>?

    /// - Parameter mark: which messages to mark as processed as they arrive.
    init(_ consumer: KafkaConsumer, mark: @escaping @Sendable (KafkaMessage) -> Bool = { _ in true }) {
        task = Task { [weak self] in
            for try await message in consumer.messages {
                if mark(message) { try? consumer.markProcessed(message) }
                self?.append(message)
            }
        }
    }

    private func append(_ message: KafkaMessage) {
        lock.lock()
        collected.append(message)
        lock.unlock()
    }

    var messages: [KafkaMessage] {
        lock.lock()
        defer { lock.unlock() }
        return collected
    }

    func waitForCount(_ count: Int, within limit: Duration = .seconds(60)) async throws -> [KafkaMessage] {
        try await eventually(limit, "\(count) messages (have \(messages.count))") { messages.count >= count }
        return messages
    }

    func stop() {
        task?.cancel()
    }
}
