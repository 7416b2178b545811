/// The messages of a `KafkaConsumer`. It keeps the consumer alive while iterated.
public struct KafkaConsumerMessages: AsyncSequence, Sendable {
    public typealias Element = KafkaMessage

    let consumer: KafkaConsumer

    public func makeAsyncIterator() -> Iterator {
        Iterator(consumer: consumer)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let consumer: KafkaConsumer
        private var batch: [KafkaMessage] = []
        private var index = 0

        init(consumer: KafkaConsumer) {
            self.consumer = consumer
        }

        /// The next message; nil when the consumer is closed or the task cancelled.
        public mutating func next() async throws -> KafkaMessage? {
            if index < batch.count {
                defer { index += 1 }
                return batch[index]
            }
            guard let next = try await consumer.nextBatch() else { return nil }
            batch = next
            index = 1
            return batch[0]
        }

    }
}
