/// A record header. Kafka allows the same key more than once and a header without a value.
public struct KafkaHeader: Sendable, Hashable {
    public var key: String
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }

    public init(key: String, value: String) {
        self.key = key
        self.value = Array(value.utf8)
    }
}
