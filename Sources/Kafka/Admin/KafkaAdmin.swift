import CRdKafka
import Logging

/// The few administrative operations dev tooling and tests need: create a topic when
/// it is missing, read a topic's partition count.
/// `@unchecked`: the queue handle is only passed to librdkafka, which documents it as thread-safe.
public final class KafkaAdmin: @unchecked Sendable {
    private let client: RdKafkaClient
    /// librdkafka's background queue, where admin results arrive as events.
    private let backgroundQueue: OpaquePointer

    public init(configuration: KafkaClientConfiguration, logger: Logger = Logger(label: "kafka.admin"))
        throws(KafkaError)
    {
        try configuration.validate()
        client = try RdKafkaClient(
            kind: RD_KAFKA_PRODUCER, properties: configuration.rdKafkaProperties([]),
            callbacks: RdKafkaCallbacks(logger: logger)
        ) { conf in
            rd_kafka_conf_set_background_event_cb(conf, adminBackgroundEventCallback)
        }
        backgroundQueue = rd_kafka_queue_get_background(client.ownerHandle)
    }

    deinit {
        rd_kafka_queue_destroy(backgroundQueue)
        // `client` destroys the handle when it goes, after this.
    }

    /// Creates `topic` unless it exists. Returns true when this call created it.
    @discardableResult
    public func createTopic(
        _ topic: String, partitions: Int32, replicationFactor: Int32 = 1, config: [String: String] = [:],
        timeout: Duration = .seconds(30)
    ) async throws(KafkaError) -> Bool {
        let operation = "create topic \"\(topic)\""
        var errorText = [CChar](repeating: 0, count: 512)
        guard let newTopic = rd_kafka_NewTopic_new(topic, partitions, replicationFactor, &errorText, errorText.count)
        else {
            throw KafkaError(
                category: .configuration, name: "invalid_topic", message: String(nulTerminated: errorText),
                operation: operation)
        }
        defer { rd_kafka_NewTopic_destroy(newTopic) }
        for (name, value) in config.sorted(by: { $0.key < $1.key }) {
            let err = rd_kafka_NewTopic_set_config(newTopic, name, value)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .broker(err, operation: "\(operation) with \(name)") }
        }
        let result: Result<Bool, KafkaError> = await withCheckedContinuation { waiter in
            let request = AdminRequest(waiter, operation: operation)
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
                waiter.resume(returning: .failure(error))
            }
        }
        return try result.get()
    }

    /// The number of partitions of `topic`, from the cluster's metadata.
    public func partitionCount(_ topic: String, timeout: Duration = .seconds(10)) async throws(KafkaError) -> Int {
        let client = self.client
        return try await BlockingCall.run { () throws(KafkaError) -> Int in
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
}

private func adminBackgroundEventCallback(
    _ handle: OpaquePointer?, _ event: OpaquePointer?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let event else { return }
    defer { rd_kafka_event_destroy(event) }
    guard rd_kafka_event_type(event) == RD_KAFKA_EVENT_CREATETOPICS_RESULT,
        let requestPointer = rd_kafka_event_opaque(event)
    else { return }
    Unmanaged<AdminRequest>.fromOpaque(requestPointer).takeRetainedValue().complete(with: event)
}
