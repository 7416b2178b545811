import Delivery
import Kafka
import Prometheus
import ReminderCore
import ReminderStore
import Synchronization

/// Sets the gauges of the moment, then renders every metric: reminders waiting in each
/// state (one query over the dispatcher's partial indexes), consumer lag per partition,
/// each provider's circuit state.
public final class MetricsScrape: Sendable {
    private let metrics: ServiceMetrics
    private let lookup: any ReminderLookingUp
    private let pipeline: IngestPipeline<ContinuousClock>?
    private let providers: [GuardedProvider]
    private let lagGauges = Mutex<[KafkaTopicPartition: Gauge]>([:])
    private let databaseUp: Gauge

    public init(
        metrics: ServiceMetrics, lookup: any ReminderLookingUp, pipeline: IngestPipeline<ContinuousClock>?,
        providers: [GuardedProvider]
    ) {
        self.metrics = metrics
        self.lookup = lookup
        self.pipeline = pipeline
        self.providers = providers
        databaseUp = metrics.registry.makeGauge(
            descriptor: ServiceMetrics.name(
                "database", "up", "1 when the last scrape could count reminders, 0 when the database did not answer."))
    }

    public func render() async -> String {
        await countReminders()
        if let pipeline { setLag(await pipeline.lag()) }
        for provider in providers {
            let value: Double =
                switch provider.observedCircuitState {
                case .closed: 0
                case .halfOpen: 1
                case .open: 2
                }
            metrics.registry.makeGauge(
                descriptor: ServiceMetrics.name(
                    "circuit", "state", "A provider's circuit: 0 closed, 1 half-open, 2 open."),
                labels: [("provider", provider.name)]
            ).set(value)
        }
        return metrics.render()
    }

    private func countReminders() async {
        let lookup = self.lookup
        guard
            let counts = try? await StoreDeadline.run(
                .seconds(5), on: ContinuousClock(), operation: "count reminders",
                {
                    try await lookup.countWaitingByState()
                })
        else {
            databaseUp.set(Double(0))
            return
        }
        databaseUp.set(Double(1))
        for state in ReminderLookup.waitingStates {
            metrics.registry.makeGauge(
                descriptor: ServiceMetrics.name(
                    "reminders", "",
                    "Reminders waiting in each state (SCHEDULED, RETRY, SENDING), counted at the scrape."),
                labels: [("state", state.rawValue)]
            ).set(Double(counts[state.rawValue] ?? 0))
        }
    }

    /// One gauge per assigned partition; the gauges of partitions given up go away.
    private func setLag(_ lag: [KafkaTopicPartition: Int64]) {
        let registry = metrics.registry
        lagGauges.withLock { gauges in
            for (partition, gauge) in gauges where lag[partition] == nil {
                registry.unregisterGauge(gauge)
                gauges[partition] = nil
            }
            for (partition, value) in lag {
                let gauge =
                    gauges[partition]
                    ?? registry.makeGauge(
                        descriptor: ServiceMetrics.name(
                            "consumer", "lag",
                            "Messages of an assigned partition not yet stored: the end the broker reports (its high watermark) less the committed offset, never below 0."
                        ),
                        labels: [("topic", partition.topic), ("partition", String(partition.partition))])
                gauges[partition] = gauge
                gauge.set(Double(value))
            }
        }
    }
}
