import CRdKafka

/// An admin request waiting for its result event on librdkafka's background thread.
final class AdminRequest: Sendable {
    let waiter: CheckedContinuation<Result<Bool, KafkaError>, Never>
    let operation: String

    init(_ waiter: CheckedContinuation<Result<Bool, KafkaError>, Never>, operation: String) {
        self.waiter = waiter
        self.operation = operation
    }

    /// Reads a CreateTopics result: true when created, false when it already existed.
    func complete(with event: OpaquePointer) {
        let requestError = rd_kafka_event_error(event)
        guard requestError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let text = rd_kafka_event_error_string(event).map { String(cString: $0) }
            waiter.resume(returning: .failure(.broker(requestError, operation: operation, message: text)))
            return
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else {
            waiter.resume(returning: .failure(.broker(RD_KAFKA_RESP_ERR__BAD_MSG, operation: operation)))
            return
        }
        var count = 0
        let topics = rd_kafka_CreateTopics_result_topics(result, &count)
        guard count > 0, let topic = topics?[0] else {
            waiter.resume(returning: .failure(.broker(RD_KAFKA_RESP_ERR__BAD_MSG, operation: operation)))
            return
        }
        let err = rd_kafka_topic_result_error(topic)
        switch err {
        case RD_KAFKA_RESP_ERR_NO_ERROR: waiter.resume(returning: .success(true))
        case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS: waiter.resume(returning: .success(false))
        default:
            let text = rd_kafka_topic_result_error_string(topic).map { String(cString: $0) }
            waiter.resume(returning: .failure(.broker(err, operation: operation, message: text)))
        }
    }
}
