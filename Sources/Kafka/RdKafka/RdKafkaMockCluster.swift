import CRdKafka

/// librdkafka's in-process mock cluster, in Swift values. librdkafka ties the cluster to
/// the handle that creates it, so this owns that handle.
final class RdKafkaMockCluster: @unchecked Sendable {
    private let client: RdKafkaClient
    /// Belongs to `client`'s handle and lives exactly as long as it.
    private let cluster: OpaquePointer
    let bootstrapServers: String

    init(brokers: Int, callbacks: RdKafkaCallbacks) throws(KafkaError) {
        client = try RdKafkaClient(
            kind: RD_KAFKA_PRODUCER, properties: [("test.mock.num.brokers", String(brokers))], callbacks: callbacks
        ) { _ in }
        guard let cluster = rd_kafka_handle_mock_cluster(client.ownerHandle) else {
            throw KafkaError(
                category: .configuration, name: "mock_unavailable",
                message: "this librdkafka was built without the mock cluster", operation: "start mock cluster")
        }
        self.cluster = cluster
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32) throws(KafkaError) {
        let err = rd_kafka_mock_topic_create(cluster, name, partitions, replicationFactor)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .broker(err, operation: "create mock topic \"\(name)\"") }
    }

    /// The next requests with this API key are answered with these protocol error codes.
    func failNext(apiKey: Int16, with errors: [Int32]) {
        let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
        rd_kafka_mock_push_request_errors_array(cluster, apiKey, codes.count, codes)
    }

    func setRoundTrip(of id: Int32, milliseconds: Int32) throws(KafkaError) {
        let err = rd_kafka_mock_broker_set_rtt(cluster, id, milliseconds)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw .broker(err, operation: "set the round trip of mock broker \(id)")
        }
    }
}
