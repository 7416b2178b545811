/// The components' configurations as these settings give them: plain data, built into
/// components by `ServiceAssembly`.
extension ServiceSettings {
    /// The ingest pipeline's configuration as these settings give it.
    public var pipelineConfiguration: IngestPipeline.Configuration {
        IngestPipelineConfiguration(
            topic: remindersTopic, batchSize: batchSize, linger: linger, lanes: lanes, commitInterval: commitInterval)
    }

    /// The status relay's configuration as these settings give it.
    public var statusRelayConfiguration: StatusRelay.Configuration {
        OutboxRelayConfiguration(topic: statusTopic)
    }

    /// Whether this instance runs the status relay: with the dead-letter relay, unless
    /// status events are off.
    public var statusRelayEnabled: Bool { relayEnabled && statusEvents }

    /// The dead-letter relay's configuration as these settings give it.
    public var relayConfiguration: DeadLetterRelay.Configuration {
        OutboxRelayConfiguration(topic: deadLetterTopic)
    }
}
