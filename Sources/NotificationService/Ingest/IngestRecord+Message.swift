import Foundation
import Kafka
import ReminderCore
import ReminderStore

extension IngestRecord {
    /// Decodes and validates a consumed message. Besides the event contract, a message
    /// must be keyed by its user id: ordering per user rests on it. The message's own
    /// trace context, if well formed, is kept (`IngestTrace` puts its span's in its place
    /// when tracing is on).
    public init(_ message: KafkaMessage) {
        self.init(
            topic: message.topic, partition: message.partition, offset: message.offset, key: message.key,
            value: message.value, headers: message.headers.map { Header(key: $0.key, value: $0.value) },
            decoded: Self.decode(message), trace: TracePropagation.incoming(message.headers))
    }

    private static func decode(_ message: KafkaMessage) -> Decoded {
        if let replay = message.header(replayHeader) {
            // A replay's payload was validated when it was first consumed; what counts
            // is which dead letter it replays.
            let text = replay.value.map { String(decoding: $0, as: UTF8.self) } ?? ""
            guard let id = UUID(uuidString: text) else {
                return .invalid(
                    EventValidationError(
                        field: "(header \(replayHeader))", message: "must be a dead letter id (a UUID)"))
            }
            return .replay(of: id)
        }
        let event: ReminderEvent
        do {
            event = try ReminderEventDecoder.decode(message.value)
        } catch {
            return .invalid(error)
        }
        guard let key = message.key, String(decoding: key, as: UTF8.self) == event.userID else {
            return .invalid(
                EventValidationError(
                    field: "(message key)",
                    message: message.key == nil
                        ? "is missing; publishers key messages by user_id" : "must be the event's user_id"))
        }
        return .valid(event)
    }
}
