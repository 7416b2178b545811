import CRdKafka
import Logging

/// librdkafka's admin calls, in Swift values: a client handle and its background queue,
/// where the results of admin requests arrive as events.
final class RdKafkaAdmin: @unchecked Sendable {
    private let client: RdKafkaClient
    private let backgroundQueue: OpaquePointer

    init(properties: [(String, String)], logger: Logger) throws(KafkaError) {
        client = try RdKafkaClient(
            kind: RD_KAFKA_PRODUCER, properties: properties, callbacks: RdKafkaCallbacks(logger: logger)
        ) { conf in
            rd_kafka_conf_set_background_event_cb(conf, adminResultCallback)
        }
        backgroundQueue = rd_kafka_queue_get_background(client.ownerHandle)
    }

    deinit {
        rd_kafka_queue_destroy(backgroundQueue)
        // `client` destroys the handle when it goes, after this.
    }

    /// Asks the cluster to create `topic`: `completion` gets true when it was created,
    /// false when it existed already, exactly once (at once when the request is refused).
    func createTopic(
        _ topic: String, partitions: Int32, replicationFactor: Int32, config: [String: String], timeout: Duration,
        completion: @escaping @Sendable (Result<Bool, KafkaError>) -> Void
    ) {
        let operation = "create topic \"\(topic)\""
        var errorText = [CChar](repeating: 0, count: 512)
        guard let newTopic = rd_kafka_NewTopic_new(topic, partitions, replicationFactor, &errorText, errorText.count)
        else {
            completion(
                .failure(
                    KafkaError(
                        category: .configuration, name: "invalid_topic", message: String(nulTerminated: errorText),
                        operation: operation)))
            return
        }
        defer { rd_kafka_NewTopic_destroy(newTopic) }
        for (name, value) in config.sorted(by: { $0.key < $1.key }) {
            let err = rd_kafka_NewTopic_set_config(newTopic, name, value)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                completion(.failure(.broker(err, operation: "\(operation) with \(name)")))
                return
            }
        }
        let request = AdminCompletion(operation: operation, body: completion)
        do throws(KafkaError) {
            try client.withHandle(operation) { handle in
                let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
                defer { rd_kafka_AdminOptions_destroy(options) }
                let milliseconds = Int32(clamping: timeout.milliseconds)
                _ = rd_kafka_AdminOptions_set_request_timeout(options, milliseconds, nil, 0)
                _ = rd_kafka_AdminOptions_set_operation_timeout(options, milliseconds, nil, 0)
                // Retained until the result event, whose callback takes it back.
                rd_kafka_AdminOptions_set_opaque(options, Unmanaged.passRetained(request).toOpaque())
                var topics: [OpaquePointer?] = [newTopic]
                rd_kafka_CreateTopics(handle, &topics, 1, options, backgroundQueue)
            }
        } catch {
            completion(.failure(error))
        }
    }

    /// The number of partitions of `topic`, from the cluster's metadata. Blocks up to `timeout`.
    func partitionCount(_ topic: String, timeout: Duration) throws(KafkaError) -> Int {
        try client.withHandle("read metadata of \"\(topic)\"") { handle throws(KafkaError) -> Int in
            guard let topicHandle = rd_kafka_topic_new(handle, topic, nil) else {
                throw .broker(rd_kafka_last_error(), operation: "open topic \"\(topic)\"")
            }
            defer { rd_kafka_topic_destroy(topicHandle) }
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let err = rd_kafka_metadata(handle, 0, topicHandle, &metadata, Int32(clamping: timeout.milliseconds))
            defer { metadata.map { rd_kafka_metadata_destroy($0) } }
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata, metadata.pointee.topic_cnt > 0 else {
                throw .broker(err, operation: "read metadata of \"\(topic)\"")
            }
            let entry = metadata.pointee.topics[0]
            if entry.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw .broker(entry.err, operation: "read metadata of \"\(topic)\"")
            }
            return Int(entry.partition_cnt)
        }
    }
}

/// A CreateTopics request waiting for its result event, carried through librdkafka as the opaque.
private final class AdminCompletion {
    let operation: String
    let body: @Sendable (Result<Bool, KafkaError>) -> Void

    init(operation: String, body: @escaping @Sendable (Result<Bool, KafkaError>) -> Void) {
        self.operation = operation
        self.body = body
    }

    /// Reads a CreateTopics result: true when created, false when it already existed.
    func result(of event: OpaquePointer) -> Result<Bool, KafkaError> {
        let requestError = rd_kafka_event_error(event)
        guard requestError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let text = rd_kafka_event_error_string(event).map { String(cString: $0) }
            return .failure(.broker(requestError, operation: operation, message: text))
        }
        var count = 0
        guard let result = rd_kafka_event_CreateTopics_result(event),
            let topics = rd_kafka_CreateTopics_result_topics(result, &count), count > 0, let topic = topics[0]
        else {
            return .failure(.broker(RD_KAFKA_RESP_ERR__BAD_MSG, operation: operation))
        }
        let err = rd_kafka_topic_result_error(topic)
        switch err {
        case RD_KAFKA_RESP_ERR_NO_ERROR: return .success(true)
        case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS: return .success(false)
        default:
            let text = rd_kafka_topic_result_error_string(topic).map { String(cString: $0) }
            return .failure(.broker(err, operation: operation, message: text))
        }
    }
}

private func adminResultCallback(_ handle: OpaquePointer?, _ event: OpaquePointer?, _ opaque: UnsafeMutableRawPointer?)
{
    guard let event else { return }
    defer { rd_kafka_event_destroy(event) }
    guard rd_kafka_event_type(event) == RD_KAFKA_EVENT_CREATETOPICS_RESULT, let pointer = rd_kafka_event_opaque(event)
    else { return }
    let request = Unmanaged<AdminCompletion>.fromOpaque(pointer).takeRetainedValue()
    request.body(request.result(of: event))
}
