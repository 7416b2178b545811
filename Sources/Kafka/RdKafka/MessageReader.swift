import CRdKafka

/// Copies librdkafka messages into `KafkaMessage` values on the poll thread. It keeps
/// the topic names it has seen, so that a topic name is made once, not per message, and
/// the slots librdkafka writes a batch's message pointers into.
final class MessageReader {
    private var topicNames: [OpaquePointer: String] = [:]
    private var lastTopic: (handle: OpaquePointer, name: String)?
    /// Room for `capacity` message pointers.
    let slots: UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        slots = .allocate(capacity: capacity)
    }

    deinit {
        slots.deallocate()
    }

    /// Copies everything out of `message`; the caller still destroys it.
    func read(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaMessage {
        let raw = message.pointee
        let topic = topicName(raw.rkt)
        let key = raw.key.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.key_len)) }
        let value = raw.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.len)) }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let milliseconds = rd_kafka_message_timestamp(message, &timestampType)
        let timestamp: KafkaTimestamp? =
            switch timestampType {
            case RD_KAFKA_TIMESTAMP_CREATE_TIME: KafkaTimestamp(millisecondsSinceEpoch: milliseconds, kind: .createTime)
            case RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME:
                KafkaTimestamp(millisecondsSinceEpoch: milliseconds, kind: .logAppendTime)
            default: nil
            }
        return KafkaMessage(
            topic: topic, partition: raw.partition, offset: raw.offset, key: key, value: value,
            headers: Self.headers(of: message), timestamp: timestamp)
    }

    private func topicName(_ topic: OpaquePointer?) -> String {
        guard let topic else { return "" }
        if let lastTopic, lastTopic.handle == topic { return lastTopic.name }
        let name = topicNames[topic] ?? String(cString: rd_kafka_topic_name(topic))
        topicNames[topic] = name
        lastTopic = (topic, name)
        return name
    }

    private static func headers(of message: UnsafeMutablePointer<rd_kafka_message_t>) -> [KafkaHeader] {
        // The headers belong to the message and live as long as it does.
        var headers: OpaquePointer?
        guard rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else {
            return []
        }
        var result: [KafkaHeader] = []
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(headers, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
            result.append(KafkaHeader(key: name.map { String(cString: $0) } ?? "", value: bytes))
            index += 1
        }
        return result
    }
}
