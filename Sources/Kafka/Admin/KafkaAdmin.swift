import Logging

/// The few administrative operations dev tooling and tests need: create a topic when
/// it is missing, read a topic's partition count.
public final class KafkaAdmin: Sendable {
    private let rdKafka: RdKafkaAdmin

    public init(configuration: KafkaClientConfiguration, logger: Logger = Logger(label: "kafka.admin"))
        throws(KafkaError)
    {
        try configuration.validate()
        rdKafka = try RdKafkaAdmin(properties: configuration.rdKafkaProperties([]), logger: logger)
    }

    /// Creates `topic` unless it exists. Returns true when this call created it.
    @discardableResult
    public func createTopic(
        _ topic: String, partitions: Int32, replicationFactor: Int32 = 1, config: [String: String] = [:],
        timeout: Duration = .seconds(30)
    ) async throws(KafkaError) -> Bool {
        let result: Result<Bool, KafkaError> = await withCheckedContinuation { waiter in
            rdKafka.createTopic(
                topic, partitions: partitions, replicationFactor: replicationFactor, config: config, timeout: timeout
            ) { waiter.resume(returning: $0) }
        }
        return try result.get()
    }

    /// The number of partitions of `topic`, from the cluster's metadata.
    public func partitionCount(_ topic: String, timeout: Duration = .seconds(10)) async throws(KafkaError) -> Int {
        let rdKafka = self.rdKafka
        return try await BlockingCall.run { () throws(KafkaError) -> Int in
            try rdKafka.partitionCount(topic, timeout: timeout)
        }
    }
}
