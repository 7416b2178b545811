import Kafka

/// Where the dead-letter relay publishes: a `KafkaProducer` in production, a publisher
/// in the test's own process in tests of the relay without a broker.
public protocol KafkaPublishing: Sendable {
    /// Sends the messages and waits for each one's acknowledgement; the results are in
    /// the order of `messages`.
    func send(_ messages: [KafkaProducerMessage]) async -> [Result<KafkaDeliveryReport, KafkaError>]

    /// Waits up to `flushTimeout` for messages in flight, then releases the producer.
    func close(flushTimeout: Duration) async
}

extension KafkaProducer: KafkaPublishing {}
