/// An error from the Kafka client: librdkafka's error code, name and text, what the
/// client was doing, and whether trying again can help.
public struct KafkaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Category: String, Sendable, Hashable {
        /// A configuration property is unknown or has an invalid value.
        case configuration
        /// The librdkafka loaded at run time is too old to talk to current brokers.
        case unsupportedLibrary
        /// librdkafka or a broker reported an error (see `code`).
        case broker
        /// The client was closed, or is closing, and cannot do what was asked.
        case closed
    }

    /// The category of the failure.
    public let category: Category
    /// librdkafka's `rd_kafka_resp_err_t` value; 0 when the error did not come from it.
    public let code: Int32
    /// librdkafka's symbolic name of the code, for example `_TRANSPORT`.
    public let name: String
    /// librdkafka's (or this client's) explanation.
    public let message: String
    /// What the client was doing, for example `commit` or `produce to "reminders"`.
    public let operation: String
    /// The configuration property at fault, for configuration errors.
    public let property: String?
    /// True when the same request may succeed later (a broker away, a timeout, a full queue).
    public let isRetriable: Bool
    /// True when the client instance cannot be used any more and must be recreated.
    public let isFatal: Bool

    init(
        category: Category, code: Int32 = 0, name: String, message: String, operation: String,
        property: String? = nil, isRetriable: Bool = false, isFatal: Bool = false
    ) {
        self.category = category
        self.code = code
        self.name = name
        self.message = message
        self.operation = operation
        self.property = property
        self.isRetriable = isRetriable
        self.isFatal = isFatal
    }

    public var description: String {
        var text = "Kafka \(operation) failed: \(message)"
        if let property { text += " (property \"\(property)\")" }
        if category == .broker { text += " [\(name)]" }
        if isFatal { text += " (fatal: the client must be recreated)" }
        return text
    }
}

extension KafkaError {
    static func closed(operation: String) -> KafkaError {
        KafkaError(
            category: .closed, name: "closed", message: "the client is closed", operation: operation)
    }
}
