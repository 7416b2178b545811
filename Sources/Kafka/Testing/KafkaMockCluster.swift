/// librdkafka's in-process mock cluster: brokers on loopback inside this process that
/// speak enough of the protocol for producers, consumer groups and commits, and that
/// fail on demand. For tests of faults a real broker cannot produce at will.
public final class KafkaMockCluster: Sendable {
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

    private let rdKafka: RdKafkaMockCluster

    /// The cluster's `bootstrap.servers`, for the clients under test.
    public var bootstrapServers: String { rdKafka.bootstrapServers }

    public init(brokers: Int = 1) throws(KafkaError) {
        rdKafka = try RdKafkaMockCluster(
            brokers: brokers, callbacks: RdKafkaCallbacks(logger: .init(label: "kafka.mock")))
    }

    public func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32 = 1) throws(KafkaError) {
        try rdKafka.createTopic(name, partitions: partitions, replicationFactor: replicationFactor)
    }

    /// The next requests of this kind are answered with these errors, one each, in order.
    /// `errors` are Kafka protocol error codes (for example 30, GROUP_AUTHORIZATION_FAILED).
    public func failNext(_ request: Request, with errors: [Int32]) {
        rdKafka.failNext(apiKey: request.rawValue, with: errors)
    }

    /// Delays every answer of a broker by `delay` (zero: answers at once again), which
    /// makes it a broker that has stopped answering for any caller with a shorter limit.
    ///
    /// There is deliberately no way to take a broker down: librdkafka's mock re-binds the
    /// broker's port when it goes down and aborts the whole process when that port has
    /// been taken meanwhile (seen in a test run with many connections opening at once).
    public func setRoundTrip(ofBroker id: Int32, to delay: Duration) throws(KafkaError) {
        let milliseconds = delay / .milliseconds(1)
        guard (0...Double(Int32.max)).contains(milliseconds) else {
            throw KafkaError(
                category: .configuration, name: "invalid_round_trip",
                message: "a mock broker's round trip is 0 to \(Int32.max) ms, not \(delay)",
                operation: "set the round trip of mock broker \(id)")
        }
        try rdKafka.setRoundTrip(of: id, milliseconds: Int32(milliseconds))
    }
}
