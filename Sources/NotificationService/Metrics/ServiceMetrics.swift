import Foundation
import Prometheus
import ReminderStore

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
    let replaysApplied: Counter
    let replaysIgnored: Counter
    let retriesScheduled: Counter
    let lateness: DurationHistogram

    static let latenessBuckets: [Duration] = [
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5),
        .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
    ]
    static let latencyBuckets: [Duration] = [
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        func counter(_ name: String, _ help: String) -> Counter {
            registry.makeCounter(name: "notification_\(name)", labels: [], help: help)
        }
        eventsConsumed = counter("events_consumed_total", "Messages read from the reminders topic and stored.")
        eventsStored = counter("events_stored_total", "Events whose idempotency key was new (stored once).")
        eventsDuplicate = counter("events_duplicate_total", "Events dropped as duplicates (same key, same payload).")
        eventsInvalid = counter("events_invalid_total", "Messages dead-lettered as invalid_event.")
        eventsConflicting = counter(
            "events_conflicting_total", "Events dead-lettered as idempotency_conflict (same key, other payload).")
        replaysApplied = counter("replays_applied_total", "Replayed dead letters whose reminder was reset.")
        replaysIgnored = counter(
            "replays_ignored_total", "Replays of a dead letter replayed before, or whose reminder had moved on.")
        retriesScheduled = counter("retries_scheduled_total", "Delivery attempts that ended in a scheduled retry.")
        lateness = registry.makeDurationHistogram(
            name: "notification_dispatch_lateness_seconds", labels: [], buckets: Self.latenessBuckets,
            help: "From a reminder's due time to its delivery.")
    }

    /// A batch stored by ingest.
    func ingested(_ summary: IngestSummary, messages: Int) {
        eventsConsumed.increment(by: Int64(messages))
        eventsStored.increment(by: Int64(summary.accepted))
        eventsDuplicate.increment(by: Int64(summary.duplicates))
        eventsInvalid.increment(by: Int64(summary.invalid))
        eventsConflicting.increment(by: Int64(summary.conflicts))
        replaysApplied.increment(by: Int64(summary.replayed))
        replaysIgnored.increment(by: Int64(summary.replaysIgnored))
    }

    /// A delivery attempt whose outcome was recorded.
    func dispatched(_ completion: DispatchStore.Completion, dueAt: Date) {
        for attempt in completion.channelAttempts {
            registry.makeCounter(
                name: "notification_channel_attempts_total",
                labels: [
                    ("channel", attempt.channel), ("provider", attempt.provider), ("outcome", attempt.outcome),
                    ("error_class", attempt.errorClass ?? ""),
                ],
                help:
                    "Sends through a channel by outcome (delivered, transient, permanent, circuit_open) and error class."
            ).increment()
            if attempt.outcome != "circuit_open" {
                registry.makeDurationHistogram(
                    name: "notification_provider_latency_seconds", labels: [("provider", attempt.provider)],
                    buckets: Self.latencyBuckets, help: "Time a provider took to answer a send."
                ).record(.milliseconds(attempt.latencyMilliseconds))
            }
        }
        switch completion.result {
        case .delivered:
            lateness.record(.seconds(max(0, Date().timeIntervalSince(dueAt))))
        case .retry:
            retriesScheduled.increment()
        case .deadLetter(let reason, _):
            registry.makeCounter(
                name: "notification_reminders_dead_lettered_total", labels: [("reason", reason.rawValue)],
                help: "Reminders given up by the dispatcher, by dead-letter reason."
            ).increment()
        }
    }

    /// Dead letters the relay published to the dead-letter topic.
    func published(deadLetterReasons reasons: [String]) {
        for (reason, count) in Dictionary(reasons.map { ($0, 1) }, uniquingKeysWith: +) {
            registry.makeCounter(
                name: "notification_dead_letters_published_total", labels: [("reason", reason)],
                help: "Dead-letter records published to the dead-letter topic, by reason."
            ).increment(by: Int64(count))
        }
    }

    /// The Prometheus text exposition of every metric.
    public func render() -> String {
        registry.emitToString()
    }
}
