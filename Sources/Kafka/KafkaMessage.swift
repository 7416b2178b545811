/// A message read from Kafka. A message with no key or no value (a tombstone) is an
/// ordinary message: `key` and `value` are then nil.
public struct KafkaMessage: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [KafkaHeader]
    /// Milliseconds since the epoch, when the broker or producer gave one.
    public var timestamp: KafkaTimestamp?

    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?,
        headers: [KafkaHeader] = [], timestamp: KafkaTimestamp? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    public var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }

    /// The bytes the message holds: its key, value and headers (for bounds on what is
    /// read ahead and batched, which a count alone does not bound when messages are large).
    public var byteCount: Int {
        (key?.count ?? 0) + (value?.count ?? 0) + headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) }
    }

    /// The offset to commit once this message is processed: the next one to read.
    /// The only place in the client where offset + 1 is computed.
    public var nextOffset: KafkaTopicPartitionOffset {
        KafkaTopicPartitionOffset(topicPartition, offset: offset + 1)
    }

    /// The first header with this key, if any.
    public func header(_ key: String) -> KafkaHeader? { headers.first { $0.key == key } }
}
