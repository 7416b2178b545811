import CRdKafka

/// Conversions between `rd_kafka_topic_partition_list_t` and Swift values. A list
/// made here is owned by the caller, who destroys it with `rd_kafka_topic_partition_list_destroy`.
enum TopicPartitionList {
    static func make(_ offsets: [KafkaTopicPartitionOffset]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))!
        for item in offsets {
            let element = rd_kafka_topic_partition_list_add(list, item.topic, item.partition)!
            element.pointee.offset = item.offset
        }
        return list
    }

    static func make(_ partitions: [KafkaTopicPartition]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))!
        for item in partitions {
            rd_kafka_topic_partition_list_add(list, item.topic, item.partition)
        }
        return list
    }

    static func make(topics: [String]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))!
        for topic in topics {
            rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
        }
        return list
    }

    struct Element {
        var offset: KafkaTopicPartitionOffset
        var error: rd_kafka_resp_err_t
    }

    static func read(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>?) -> [Element] {
        guard let list, list.pointee.cnt > 0 else { return [] }
        return (0..<Int(list.pointee.cnt)).map { index in
            let element = list.pointee.elems[index]
            return Element(
                offset: KafkaTopicPartitionOffset(
                    topic: String(cString: element.topic), partition: element.partition, offset: element.offset),
                error: element.err)
        }
    }

    static func partitions(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>?) -> [KafkaTopicPartition] {
        read(list).map(\.offset.topicPartition)
    }

    /// The first per-partition error of a list, as a `KafkaError`.
    static func firstError(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>?, operation: String) -> KafkaError? {
        guard let failed = read(list).first(where: { $0.error != RD_KAFKA_RESP_ERR_NO_ERROR }) else { return nil }
        return .broker(failed.error, operation: "\(operation) \(failed.offset.topicPartition)")
    }
}

extension String {
    /// A string from a NUL-terminated C buffer such as librdkafka's `errstr`.
    init(nulTerminated buffer: [CChar]) {
        self = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
