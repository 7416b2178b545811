import CRdKafka

extension KafkaConsumer {
    /// How far a partition has been written and read, as this consumer last saw it.
    public struct PartitionProgress: Sendable, Equatable {
        /// The offset the next message written to the partition will get (its high
        /// watermark), as of the last fetch response; nil before the first.
        public var end: Int64?
        /// The offset of the next message this consumer will hand out; nil before the
        /// first message or a committed offset.
        public var position: Int64?
    }

    /// Each partition's progress, from what librdkafka already knows: no broker round
    /// trip, so it can be called on every metrics scrape.
    public func progress(of partitions: [KafkaTopicPartition]) throws(KafkaError)
        -> [KafkaTopicPartition: PartitionProgress]
    {
        guard !partitions.isEmpty else { return [:] }
        return try core.client.withHandle("read partition progress") { handle throws(KafkaError) in
            let list = TopicPartitionList.make(partitions)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let err = rd_kafka_position(handle, list)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .broker(err, operation: "read positions") }
            var result: [KafkaTopicPartition: PartitionProgress] = [:]
            for element in TopicPartitionList.read(list) {
                let partition = element.offset.topicPartition
                var low: Int64 = -1
                var high: Int64 = -1
                let known =
                    rd_kafka_get_watermark_offsets(handle, partition.topic, partition.partition, &low, &high)
                    == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0
                result[partition] = PartitionProgress(
                    end: known ? high : nil, position: element.offset.offset >= 0 ? element.offset.offset : nil)
            }
            return result
        }
    }
}
