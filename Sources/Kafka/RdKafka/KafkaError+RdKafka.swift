import CRdKafka

extension KafkaError {
    /// True when this is librdkafka's code `err`.
    public func hasCode(_ err: rd_kafka_resp_err_t) -> Bool { code == err.rawValue }

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

    /// librdkafka's `_TIMED_OUT`, for a wait this client gave up.
    static func timedOut(operation: String, message: String) -> KafkaError {
        .broker(RD_KAFKA_RESP_ERR__TIMED_OUT, operation: operation, message: message)
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
