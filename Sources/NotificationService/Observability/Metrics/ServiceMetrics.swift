import Foundation
import Prometheus
import ReminderStore
import Synchronization

/// The service's Prometheus metrics: what ingest, dispatch and the dead-letter relay
/// count as they go. Gauges of the moment (reminders by state, consumer lag, circuit
/// states) are set by `MetricsScrape` when `/metrics` is read. Labels carry channels,
/// providers, error classes and reasons, never anything about a recipient.
public final class ServiceMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    let eventsConsumed: Counter
    let eventsStored: Counter
    let eventsDuplicate: Counter
    let eventsInvalid: Counter
    let eventsConflicting: Counter
    let eventsOfAnotherUser: Counter
    let replaysApplied: Counter
    let replaysIgnored: Counter
    let retriesScheduled: Counter
    let lateness: DurationHistogram

    /// The labelled series met so far: the registry's own lookup builds and checks the
    /// label set on every call, and a delivery makes several.
    private struct AttemptLabels: Hashable {
        let channel: String, provider: String, outcome: String, errorClass: String
    }
    private let attempts = Mutex<[AttemptLabels: Counter]>([:])
    private let latencies = Mutex<[String: DurationHistogram]>([:])
    private let deadLettered = Mutex<[String: Counter]>([:])
    private let published = Mutex<[String: Counter]>([:])
    private let statusPublished = Mutex<[String: Counter]>([:])
    private let prunedRows = Mutex<[String: Counter]>([:])
    private let oldestRows = Mutex<[String: Gauge]>([:])

    static let latenessBuckets: [Duration] = [
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5),
        .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
    ]
    static let latencyBuckets: [Duration] = [
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]

    /// `notification_<name>_<unit>`.
    static func name(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "notification", metricName: name, unitName: unit, helpText: help)
    }

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        func counter(_ name: String, _ help: String) -> Counter {
            registry.makeCounter(descriptor: Self.name(name, "total", help))
        }
        eventsConsumed = counter("events_consumed", "Messages read from the reminders topic and stored.")
        eventsStored = counter("events_stored", "Events whose idempotency key was new (stored once).")
        eventsDuplicate = counter("events_duplicate", "Events dropped as duplicates (same key, same payload).")
        eventsInvalid = counter("events_invalid", "Messages dead-lettered as invalid_event.")
        eventsConflicting = counter(
            "events_conflicting", "Events dead-lettered as idempotency_conflict (same key, other payload).")
        eventsOfAnotherUser = counter(
            "events_ownership_conflict",
            "Cancels and replaces dead-lettered as ownership_conflict (the reminder is another user's).")
        replaysApplied = counter("replays_applied", "Replayed dead letters whose reminder was reset.")
        replaysIgnored = counter(
            "replays_ignored", "Replays of a dead letter replayed before, or whose reminder had moved on.")
        retriesScheduled = counter("retries_scheduled", "Delivery attempts that ended in a scheduled retry.")
        lateness = registry.makeDurationHistogram(
            descriptor: Self.name("dispatch_lateness", "seconds", "From a reminder's due time to its delivery."),
            buckets: Self.latenessBuckets)
    }

    /// A batch stored by ingest.
    func ingested(_ summary: IngestSummary, messages: Int) {
        eventsConsumed.increment(by: Int64(messages))
        eventsStored.increment(by: Int64(summary.accepted))
        eventsDuplicate.increment(by: Int64(summary.duplicates))
        eventsInvalid.increment(by: Int64(summary.invalid))
        eventsConflicting.increment(by: Int64(summary.conflicts))
        eventsOfAnotherUser.increment(by: Int64(summary.ownershipConflicts))
        replaysApplied.increment(by: Int64(summary.replayed))
        replaysIgnored.increment(by: Int64(summary.replaysIgnored))
    }

    /// A delivery attempt whose outcome was recorded.
    /// `at`: when it was recorded, for the lateness of a delivery. `decided`: false when a
    /// cancel or replace waiting on the reminder applied instead of the outcome's retry or
    /// dead letter (its channel attempts count, the outcome does not).
    func dispatched(_ completion: DispatchStore.Completion, dueAt: Date, at now: Date, decided: Bool = true) {
        for attempt in completion.channelAttempts {
            let labels = AttemptLabels(
                channel: attempt.channel, provider: attempt.provider, outcome: attempt.outcome.rawValue,
                errorClass: attempt.errorClass ?? "")
            series(attempts, labels) {
                registry.makeCounter(
                    descriptor: Self.name(
                        "channel_attempts", "total",
                        "Sends through a channel by outcome (delivered, transient, permanent, circuit_open) "
                            + "and error class."),
                    labels: [
                        ("channel", labels.channel), ("provider", labels.provider), ("outcome", labels.outcome),
                        ("error_class", labels.errorClass),
                    ])
            }.increment()
            if attempt.outcome != .circuitOpen {
                series(latencies, attempt.provider) {
                    registry.makeDurationHistogram(
                        descriptor: Self.name("provider_latency", "seconds", "Time a provider took to answer a send."),
                        labels: [("provider", attempt.provider)], buckets: Self.latencyBuckets)
                }.record(attempt.latency)
            }
        }
        guard decided else { return }
        switch completion.result {
        case .delivered:
            lateness.record(.seconds(max(0, now.timeIntervalSince(dueAt))))
        case .retry:
            retriesScheduled.increment()
        case .postponed:
            // Not an attempt: nothing was sent (the history and the log say why).
            break
        case .deadLetter(let reason, _):
            series(deadLettered, reason.rawValue) {
                registry.makeCounter(
                    descriptor: Self.name(
                        "reminders_dead_lettered", "total",
                        "Reminders given up by the dispatcher, by dead-letter reason."),
                    labels: [("reason", reason.rawValue)])
            }.increment()
        }
    }

    /// Dead letters the relay published to the dead-letter topic.
    func published(deadLetterReasons reasons: [String]) {
        for (reason, count) in Dictionary(reasons.map { ($0, 1) }, uniquingKeysWith: +) {
            series(published, reason) {
                registry.makeCounter(
                    descriptor: Self.name(
                        "dead_letters_published", "total",
                        "Dead-letter records published to the dead-letter topic, by reason."),
                    labels: [("reason", reason)])
            }.increment(by: Int64(count))
        }
    }

    /// Status records the status relay published, by type.
    func published(statusTypes types: [String]) {
        for (type, count) in Dictionary(types.map { ($0, 1) }, uniquingKeysWith: +) {
            series(statusPublished, type) {
                registry.makeCounter(
                    descriptor: Self.name(
                        "status_events_published", "total", "Status records published to the status topic, by type."),
                    labels: [("type", type)])
            }.increment(by: Int64(count))
        }
    }

    /// Rows a retention round pruned (deleted, or redacted when history is kept), by table.
    func pruned(_ counts: [RetentionStore.Table: Int]) {
        for (table, count) in counts {
            series(prunedRows, table.rawValue) {
                registry.makeCounter(
                    descriptor: Self.name(
                        "retention_pruned_rows", "total",
                        "Rows retention deleted (or redacted, RETENTION_MODE=redact) past their window, by table."),
                    labels: [("table", table.rawValue)])
            }.increment(by: Int64(count))
        }
    }

    /// How old the oldest row retention looks at is, by table (0 when there is none).
    func oldestKept(_ ages: [RetentionStore.Table: Duration?]) {
        for (table, age) in ages {
            series(oldestRows, table.rawValue) {
                registry.makeGauge(
                    descriptor: Self.name(
                        "retention_oldest_row_age", "seconds",
                        "Age of the oldest row of a table that retention prunes (0 when it has none), as of the "
                            + "last round."),
                    labels: [("table", table.rawValue)])
            }.set(age.map { Double($0.wholeMilliseconds) / 1_000 } ?? 0)
        }
    }

    /// The Prometheus text exposition of every metric.
    public func render() -> String {
        registry.emitToString()
    }

    private func series<Key: Hashable & Sendable, Metric: Sendable>(
        _ cache: borrowing Mutex<[Key: Metric]>, _ key: Key, make: () -> Metric
    ) -> Metric {
        if let metric = cache.withLock({ $0[key] }) { return metric }
        // Made outside the lock; two racing callers get the same series from the registry.
        let metric = make()
        cache.withLock { $0[key] = metric }
        return metric
    }
}
