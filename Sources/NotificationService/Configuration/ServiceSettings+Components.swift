import ReminderStore

/// The components' configurations as these settings give them: plain data, built into
/// components by `ServiceAssembly`.
extension ServiceSettings {
    /// The ingest pipeline's configuration as these settings give it.
    public var pipelineConfiguration: IngestPipeline.Configuration {
        IngestPipelineConfiguration(
            topic: remindersTopic, batchSize: batchSize, batchBytes: batchBytes, linger: linger, lanes: lanes,
            commitInterval: commitInterval)
    }

    /// The database as ingest's own pool reaches it: a connection for each lane.
    public var ingestDatabase: DatabaseConfiguration {
        var configuration = database
        configuration.maximumConnections = lanes
        return configuration
    }

    /// The status relay's configuration as these settings give it. Batches of 2,000: every
    /// ingested event writes a record, and in batches of 500 the relay fell behind an
    /// ingest of 14,000 events/s (60% published by the time ingest had stored them all).
    public var statusRelayConfiguration: StatusRelay.Configuration {
        OutboxRelayConfiguration(topic: statusTopic, batchSize: 2_000)
    }

    /// Whether this instance runs the status relay: with the dead-letter relay, unless
    /// status events are off.
    public var statusRelayEnabled: Bool { relayEnabled && statusEvents }

    /// The dead-letter relay's configuration as these settings give it.
    public var relayConfiguration: DeadLetterRelay.Configuration {
        OutboxRelayConfiguration(topic: deadLetterTopic)
    }
}
