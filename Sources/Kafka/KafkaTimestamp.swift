/// A message timestamp and where it came from.
public struct KafkaTimestamp: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// Set by the producer.
        case createTime
        /// Set by the broker when it appended the message.
        case logAppendTime
    }

    public var millisecondsSinceEpoch: Int64
    public var kind: Kind

    public init(millisecondsSinceEpoch: Int64, kind: Kind) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
        self.kind = kind
    }
}
