/// Configuration of a `KafkaConsumer`. Offsets are manual: the client never stores or
/// commits an offset the caller has not marked as processed.
public struct KafkaConsumerConfiguration: Sendable, CustomStringConvertible {
    /// Where to start in a partition that has no committed offset (`auto.offset.reset`).
    public enum OffsetReset: String, Sendable, Hashable {
        case earliest, latest
        /// Fail instead of guessing.
        case error
    }

    public var client: KafkaClientConfiguration
    /// The consumer group (`group.id`).
    public var groupID: String
    /// How long the group waits for a silent member before moving its partitions.
    public var sessionTimeout: Duration
    /// The longest gap allowed between two polls before the member is considered stuck.
    public var maxPollInterval: Duration
    public var autoOffsetReset: OffsetReset
    /// How many messages the client keeps read ahead of the caller. When the caller
    /// falls behind by this much, the client stops fetching until it catches up.
    public var maxBufferedMessages: Int
    /// The same in bytes (`KafkaMessage.byteCount`), for large messages: the client
    /// fetches while below it, so one poll batch may pass it. Unbounded by default.
    public var maxBufferedBytes: Int
    /// The most messages taken from librdkafka in one go.
    public var pollBatchSize: Int

    public init(
        client: KafkaClientConfiguration, groupID: String, sessionTimeout: Duration = .seconds(45),
        maxPollInterval: Duration = .seconds(300), autoOffsetReset: OffsetReset = .earliest,
        maxBufferedMessages: Int = 10_000, maxBufferedBytes: Int = .max, pollBatchSize: Int = 1_000
    ) {
        self.client = client
        self.groupID = groupID
        self.sessionTimeout = sessionTimeout
        self.maxPollInterval = maxPollInterval
        self.autoOffsetReset = autoOffsetReset
        self.maxBufferedMessages = maxBufferedMessages
        self.maxBufferedBytes = maxBufferedBytes
        self.pollBatchSize = pollBatchSize
    }

    public var description: String {
        "consumer group \(groupID), \(client), session timeout \(sessionTimeout), "
            + "max poll interval \(maxPollInterval), offset reset \(autoOffsetReset.rawValue)"
    }

    func rdKafkaProperties() -> [(String, String)] {
        client.rdKafkaProperties([
            ("group.id", groupID),
            ("session.timeout.ms", String(sessionTimeout.milliseconds)),
            ("max.poll.interval.ms", String(maxPollInterval.milliseconds)),
            ("auto.offset.reset", autoOffsetReset.rawValue),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("enable.partition.eof", "false"),
        ])
    }

    func validate() throws(KafkaError) {
        if groupID.isEmpty {
            throw .invalidSetting("group.id", "must not be empty")
        }
        if maxBufferedMessages < 1 {
            throw .invalidSetting("maxBufferedMessages", "must be at least 1, got \(maxBufferedMessages)")
        }
        if maxBufferedBytes < 1 {
            throw .invalidSetting("maxBufferedBytes", "must be at least 1, got \(maxBufferedBytes)")
        }
        if pollBatchSize < 1 {
            throw .invalidSetting("pollBatchSize", "must be at least 1, got \(pollBatchSize)")
        }
        try client.validate()
    }
}

extension KafkaClientConfiguration {
    func validate() throws(KafkaError) {
        if bootstrapServers.isEmpty || bootstrapServers.contains(where: \.isEmpty) {
            throw .invalidSetting("bootstrap.servers", "needs at least one host:port")
        }
    }
}

extension KafkaError {
    static func invalidSetting(_ property: String, _ message: String) -> KafkaError {
        KafkaError(
            category: .configuration, name: "invalid_configuration", message: message,
            operation: "configure", property: property)
    }
}
