/// What every client (consumer, producer, admin) needs to reach the cluster.
public struct KafkaClientConfiguration: Sendable, CustomStringConvertible {
    /// `host:port` of one or more brokers to bootstrap from.
    public var bootstrapServers: [String]
    /// librdkafka's `client.id`, shown in broker logs and quotas.
    public var clientID: String
    public var security: KafkaSecurity
    /// Any librdkafka property, passed through as is and applied after the typed fields,
    /// so it can override them. An unknown property or an invalid value fails when the
    /// client is created, naming the property.
    public var properties: [String: String]

    public init(
        bootstrapServers: [String], clientID: String = "notification-service",
        security: KafkaSecurity = .plaintext, properties: [String: String] = [:]
    ) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.security = security
        self.properties = properties
    }

    /// Property values are not shown: pass-through properties may hold secrets.
    public var description: String {
        "bootstrap \(bootstrapServers.joined(separator: ",")), client \(clientID), \(security), "
            + "properties \(properties.keys.sorted())"
    }

    /// The common properties, then the typed ones of `specific`, then the pass-through ones.
    func rdKafkaProperties(_ specific: [(String, String)]) -> [(String, String)] {
        var result: [(String, String)] = [
            ("bootstrap.servers", bootstrapServers.joined(separator: ",")),
            ("client.id", clientID),
        ]
        result += security.properties
        result += specific
        result += properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return result
    }
}

extension Duration {
    /// Whole milliseconds, as librdkafka's `*.ms` properties take them.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

extension KafkaClientConfiguration {
    /// Checks pass-through properties the way client creation would, without creating a
    /// client: an unknown property or a bad value throws, naming the property.
    public static func checkProperties(_ properties: [String: String]) throws(KafkaError) {
        try RdKafkaConfig.check(properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }
}
