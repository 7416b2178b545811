/// The messages of a `KafkaConsumer` in the batches librdkafka hands over (up to
/// `pollBatchSize`, fewer when fewer are waiting), for callers that process messages in
/// batches anyway. Do not iterate it and `messages` at the same time.
public struct KafkaConsumerBatches: AsyncSequence, Sendable {
    public typealias Element = [KafkaMessage]

    let consumer: KafkaConsumer

    public func makeAsyncIterator() -> Iterator {
        Iterator(consumer: consumer)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let consumer: KafkaConsumer

        /// The next non-empty batch; nil when the consumer is closed or the task cancelled.
        public mutating func next() async throws -> [KafkaMessage]? {
            try await consumer.nextBatch()
        }
    }
}
