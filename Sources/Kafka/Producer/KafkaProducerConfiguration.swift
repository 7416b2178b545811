/// Configuration of a `KafkaProducer`. Idempotent with `acks=all` by default, so a
/// retried send never writes a message twice or out of order.
public struct KafkaProducerConfiguration: Sendable, CustomStringConvertible {
    public var client: KafkaClientConfiguration
    /// `enable.idempotence`.
    public var idempotent: Bool
    /// `acks`: -1 (all in-sync replicas), 0 or 1.
    public var acks: Int
    /// How long a message may wait for delivery, retries included (`message.timeout.ms`).
    public var messageTimeout: Duration
    /// How long the producer waits to batch messages (`linger.ms`).
    public var linger: Duration

    public init(
        client: KafkaClientConfiguration, idempotent: Bool = true, acks: Int = -1,
        messageTimeout: Duration = .seconds(120), linger: Duration = .milliseconds(5)
    ) {
        self.client = client
        self.idempotent = idempotent
        self.acks = acks
        self.messageTimeout = messageTimeout
        self.linger = linger
    }

    public var description: String {
        "producer, \(client), idempotent \(idempotent), acks \(acks), message timeout \(messageTimeout)"
    }

    func rdKafkaProperties() -> [(String, String)] {
        client.rdKafkaProperties([
            ("enable.idempotence", idempotent ? "true" : "false"),
            ("acks", String(acks)),
            ("message.timeout.ms", String(messageTimeout.milliseconds)),
            ("linger.ms", String(linger.milliseconds)),
        ])
    }

    func validate() throws(KafkaError) {
        if idempotent && acks != -1 {
            throw .invalidSetting("acks", "must be -1 (all) when enable.idempotence is true, got \(acks)")
        }
        try client.validate()
    }
}
