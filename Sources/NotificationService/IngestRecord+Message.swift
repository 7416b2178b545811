import Kafka
import ReminderCore
import ReminderStore

extension IngestRecord {
    /// Decodes and validates a consumed message. Besides the event contract, a message
    /// must be keyed by its user id: ordering per user rests on it.
    public init(_ message: KafkaMessage) {
        var decoded: Decoded
        do {
            let event = try ReminderEventDecoder.decode(message.value)
            if let key = message.key, String(decoding: key, as: UTF8.self) == event.userID {
                decoded = .valid(event)
            } else {
                decoded = .invalid(
                    EventValidationError(
                        field: "(message key)",
                        message: message.key == nil
                            ? "is missing; publishers key messages by user_id" : "must be the event's user_id"))
            }
        } catch {
            decoded = .invalid(error)
        }
        self.init(
            topic: message.topic, partition: message.partition, offset: message.offset, key: message.key,
            value: message.value, headers: message.headers.map { Header(key: $0.key, value: $0.value) },
            decoded: decoded)
    }
}
