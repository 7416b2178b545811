import Delivery
import Kafka
import Prometheus
import ReminderCore
import ReminderStore
import Synchronization

/// Sets the gauges of the moment, then renders every metric: reminders waiting in each
/// state (one query over the dispatcher's partial indexes), consumer lag per partition,
/// each provider's circuits and the connections it bounds itself. Circuits are counted
/// per provider, never labelled by a webhook's origin: a label per origin would make a
/// series per customer endpoint.
public final class MetricsScrape: Sendable {
    private let metrics: ServiceMetrics
    private let lookup: any ReminderLookingUp
    private let pipeline: IngestPipeline<ContinuousClock>?
    private let providers: [GuardedProvider]
    private let lagGauges = Mutex<[KafkaTopicPartition: Gauge]>([:])
    /// By provider: the circuits' counters as last scraped, to add what happened since.
    private let circuitCounts = Mutex<[String: (untracked: Int, evictions: Int)]>([:])
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
            setCircuits(provider.name, provider.circuitSummary)
            if let use = provider.provider.connectionUse { setConnections(provider.name, use) }
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

    private func setCircuits(_ provider: String, _ summary: ProviderCircuits.Summary) {
        let registry = metrics.registry
        let labels = [("provider", provider)]
        if let state = summary.state {
            let value: Double =
                switch state {
                case .closed: 0
                case .halfOpen: 1
                case .open: 2
                }
            registry.makeGauge(
                descriptor: ServiceMetrics.name(
                    "circuit", "state", "A provider's one circuit: 0 closed, 1 half-open, 2 open (not webhooks)."),
                labels: labels
            ).set(value)
        }
        registry.makeGauge(
            descriptor: ServiceMetrics.name(
                "circuits_open", "", "Circuits refusing sends now: a provider's one, or its webhook origins'."),
            labels: labels
        ).set(Double(summary.open))
        // The rest describe a table of per-origin circuits.
        guard summary.state == nil else { return }
        registry.makeGauge(
            descriptor: ServiceMetrics.name(
                "circuits_tracked", "", "Webhook origins with a circuit breaker held (at most WEBHOOK_BREAKERS_MAX)."),
            labels: labels
        ).set(Double(summary.tracked))
        let (untracked, evictions) = circuitCounts.withLock { counts in
            let last = counts[provider] ?? (0, 0)
            counts[provider] = (summary.untrackedSends, summary.evictions)
            return (summary.untrackedSends - last.untracked, summary.evictions - last.evictions)
        }
        registry.makeCounter(
            descriptor: ServiceMetrics.name(
                "circuit_untracked_sends", "total",
                "Sends to a new webhook origin let through without a breaker: the table was full of open circuits."),
            labels: labels
        ).increment(by: Int64(untracked))
        registry.makeCounter(
            descriptor: ServiceMetrics.name(
                "circuit_evictions", "total",
                "Webhook origins' breakers given up to make room for a new origin (closed ones first)."),
            labels: labels
        ).increment(by: Int64(evictions))
    }

    private func setConnections(_ provider: String, _ use: ConnectionSlots.Use) {
        let labels = [("provider", provider)]
        metrics.registry.makeGauge(
            descriptor: ServiceMetrics.name(
                "provider_connections", "",
                "Connections a provider that bounds its own has open now (SMTP: at most SMTP_MAX_CONNECTIONS)."),
            labels: labels
        ).set(Double(use.inUse))
        metrics.registry.makeGauge(
            descriptor: ServiceMetrics.name(
                "provider_connections_waiting", "",
                "Sends waiting now for one of those connections (all of them taken)."),
            labels: labels
        ).set(Double(use.waiting))
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
