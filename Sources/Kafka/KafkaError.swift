import CRdKafka

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

    /// True when this is librdkafka's code `err`.
    public func hasCode(_ err: rd_kafka_resp_err_t) -> Bool { code == err.rawValue }
}

extension KafkaError {
    /// An error for a librdkafka response code.
    static func broker(_ err: rd_kafka_resp_err_t, operation: String, message: String? = nil) -> KafkaError {
        KafkaError(
            category: .broker,
            code: err.rawValue,
            name: String(cString: rd_kafka_err2name(err)),
            message: message ?? String(cString: rd_kafka_err2str(err)),
            operation: operation,
            isRetriable: retriableCodes.contains(err.rawValue),
            isFatal: err == RD_KAFKA_RESP_ERR__FATAL
        )
    }

    /// An error from an `rd_kafka_error_t`, which it destroys.
    static func consuming(_ error: OpaquePointer, operation: String) -> KafkaError {
        defer { rd_kafka_error_destroy(error) }
        let code = rd_kafka_error_code(error)
        return KafkaError(
            category: .broker,
            code: code.rawValue,
            name: String(cString: rd_kafka_error_name(error)),
            message: String(cString: rd_kafka_error_string(error)),
            operation: operation,
            isRetriable: rd_kafka_error_is_retriable(error) != 0 || retriableCodes.contains(code.rawValue),
            isFatal: rd_kafka_error_is_fatal(error) != 0
        )
    }

    static func closed(operation: String) -> KafkaError {
        KafkaError(
            category: .closed, name: "closed", message: "the client is closed", operation: operation)
    }

    /// Codes after which the same request may succeed without any change by the caller.
    private static let retriableCodes: Set<Int32> = [
        RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__TIMED_OUT,
        RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__WAIT_COORD,
        RD_KAFKA_RESP_ERR__RESOLVE, RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION,
        RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR,
    ].reduce(into: []) { $0.insert($1.rawValue) }
}
