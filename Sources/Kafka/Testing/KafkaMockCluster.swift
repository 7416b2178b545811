import CRdKafka

/// librdkafka's in-process mock cluster: brokers on loopback inside this process that
/// speak enough of the protocol for producers, consumer groups and commits, and that
/// fail on demand. For tests of faults a real broker cannot produce at will.
public final class KafkaMockCluster: @unchecked Sendable {
    /// Protocol requests whose answers can be replaced by errors (Kafka API keys).
    public enum Request: Int16, Sendable {
        case produce = 0
        case fetch = 1
        case offsetCommit = 8
        case offsetFetch = 9
        case findCoordinator = 10
        case joinGroup = 11
        case heartbeat = 12
        case syncGroup = 14
    }

    /// Owns the mock cluster: librdkafka ties it to the handle that created it.
    private let client: RdKafkaClient
    /// Belongs to `client`'s handle and lives exactly as long as it.
    private let cluster: OpaquePointer
    private let callbacks: RdKafkaCallbacks

    /// The cluster's `bootstrap.servers`, for the clients under test.
    public let bootstrapServers: String

    public init(brokers: Int = 1) throws(KafkaError) {
        callbacks = RdKafkaCallbacks(logger: .init(label: "kafka.mock"))
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

    public func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32 = 1) throws(KafkaError) {
        let err = rd_kafka_mock_topic_create(cluster, name, partitions, replicationFactor)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .broker(err, operation: "create mock topic \"\(name)\"") }
    }

    /// The next requests of this kind are answered with these errors, one each, in order.
    /// `errors` are Kafka protocol error codes (for example 30, GROUP_AUTHORIZATION_FAILED).
    public func failNext(_ request: Request, with errors: [Int32]) {
        let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
        rd_kafka_mock_push_request_errors_array(cluster, request.rawValue, codes.count, codes)
    }

    /// Takes a broker off the network (its connections are closed) or brings it back.
    public func setBroker(_ id: Int32, up: Bool) throws(KafkaError) {
        let err = up ? rd_kafka_mock_broker_set_up(cluster, id) : rd_kafka_mock_broker_set_down(cluster, id)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .broker(err, operation: "set mock broker \(id)") }
    }
}
