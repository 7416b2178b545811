import Foundation
import Kafka
import Logging
import ReminderCore
import ReminderStore
import ServiceLifecycle
import Tracing

/// Publishes the dead-letter outbox to the dead-letter topic: each record keyed and
/// valued as the original message, with `x-dlq-*` headers, acknowledged by the broker
/// before it is marked published. Records wait in the table while the broker is away;
/// a crash between publish and mark publishes a record again with the same `x-dlq-id`.
/// One relay publishes at a time, whichever instances run one: each asks for the
/// outbox's lease before it reads (`OutboxLeaseHolder`), as the status relay does.
/// Its waits (idle, backoff) run on `C`: the continuous clock in production, a
/// `ManualClock` in tests.
public final class DeadLetterRelay<C: Clock>: Service, Sendable where C.Duration == Duration {
    public typealias Configuration = OutboxRelayConfiguration

    private let store: any DeadLetterStoring
    private let producer: any KafkaPublishing
    private let configuration: Configuration
    private let logger: Logger
    private let metrics: ServiceMetrics
    private let retry: RetryLoop<C>
    /// Its hold on the outbox's lease.
    private let lease: OutboxLeaseHolder<C>

    /// `clock`: what the relay's waits are measured on; `random`: the backoff's jitter draw.
    public init(
        store: any DeadLetterStoring, producer: any KafkaPublishing, configuration: Configuration, logger: Logger,
        metrics: ServiceMetrics = ServiceMetrics(), clock: C,
        random: @escaping @Sendable () -> Double = { .random(in: 0..<1) }
    ) {
        self.retry = RetryLoop(backoff: configuration.retry, clock: clock, random: random)
        self.store = store
        self.producer = producer
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        self.lease = OutboxLeaseHolder(
            "dead-letter", store: store, configuration: configuration, clock: clock, logger: logger)
    }

    /// Who this relay is to the lease (host, process, and a random part for the rest).
    public var holder: String { lease.holder }

    public func run() async throws {
        await retry.drain(idle: configuration.idleInterval, logger: logger, what: "dead-letter") {
            try await relayOnce()
        }
        await producer.close(flushTimeout: .seconds(5))
        await lease.release()
    }

    /// Publishes one batch of the outbox if this relay holds the lease; returns how many
    /// records it published.
    @discardableResult
    public func relayOnce() async throws -> Int {
        guard try await lease.holds() else { return 0 }
        let records = try await configuration.bounded("read unpublished dead letters", on: retry.clock) {
            [store, configuration] in try await store.unpublished(limit: configuration.batchSize)
        }
        guard !records.isEmpty, lease.mayPublish else { return 0 }
        // A producer span per record, in the trace of the event or reminder it is about;
        // the record carries the span's context (or, untraced, the stored one).
        let operation = "publish \(configuration.topic)"
        let publishing = records.map { record in
            TracePropagation.startPublishing(operation, topic: configuration.topic, continuing: record.trace) {
                $0["notification.dead_letter.id"] = record.id.lowercasedText
                $0["notification.dead_letter.reason"] = record.reason
            }
        }
        var results = await producer.send(
            zip(records, publishing).map { Self.message($0, topic: configuration.topic, trace: $1.trace) })
        // A record too large for the topic will never fit: publish it without its value
        // (the original bytes stay in the database for inspection) rather than let it
        // wait forever.
        let tooLarge = results.indices.filter { index in
            if case .failure(let error) = results[index], Self.isTooLarge(error) { return true }
            return false
        }
        if !tooLarge.isEmpty {
            let retried = await producer.send(
                tooLarge.map {
                    Self.message(
                        records[$0], topic: configuration.topic, trace: publishing[$0].trace, includeValue: false)
                })
            for (index, result) in zip(tooLarge, retried) { results[index] = result }
            logger.warning(
                "dead letters too large for the topic published without their value",
                metadata: ["count": "\(tooLarge.count)"])
        }
        var published: [UUID] = []
        var reasons: [String] = []
        var firstError: KafkaError?
        for ((record, result), (span, _)) in zip(zip(records, results), publishing) {
            switch result {
            case .success:
                published.append(record.id)
                reasons.append(record.reason)
            case .failure(let error):
                firstError = firstError ?? error
            }
            TracePropagation.endPublishing(span, result)
        }
        try await configuration.bounded("mark dead letters published", on: retry.clock) { [store, published] in
            try await store.markPublished(published)
        }
        metrics.published(deadLetterReasons: reasons)
        if !published.isEmpty {
            logger.info(
                "dead letters published", metadata: ["count": "\(published.count)", "topic": "\(configuration.topic)"])
        }
        if let firstError { throw firstError }
        return published.count
    }

    private static func isTooLarge(_ error: KafkaError) -> Bool {
        ["MSG_SIZE_TOO_LARGE", "_MSG_SIZE_TOO_LARGE", "RECORD_LIST_TOO_LARGE"].contains(error.name)
    }

    /// The dead letter's record: the original message's headers (its trace context
    /// replaced by `trace`) and the `x-dlq-*` ones.
    static func message(
        _ record: DeadLetterStore.Record, topic: String, trace: TraceContextHeaders?, includeValue: Bool = true
    ) -> KafkaProducerMessage {
        var headers = TracePropagation.replacingTrace(
            in: record.headers.filter { !$0.key.hasPrefix("x-dlq-") }.map { KafkaHeader(key: $0.key, value: $0.value) },
            with: trace)
        headers += [
            KafkaHeader(key: "x-dlq-id", value: record.id.lowercasedText),
            KafkaHeader(key: "x-dlq-reason", value: record.reason),
            KafkaHeader(key: "x-dlq-error", value: record.error),
            KafkaHeader(key: "x-dlq-attempts", value: String(record.attempts)),
            KafkaHeader(key: "x-original-topic", value: record.originalTopic),
            KafkaHeader(key: "x-original-partition", value: String(record.originalPartition)),
            KafkaHeader(key: "x-original-offset", value: String(record.originalOffset)),
            KafkaHeader(key: "x-failed-at", value: record.failedAt),
        ]
        if let key = record.idempotencyKey { headers.append(KafkaHeader(key: "x-idempotency-key", value: key)) }
        if let id = record.correlationID { headers.append(KafkaHeader(key: "x-correlation-id", value: id)) }
        if !includeValue {
            headers.append(
                KafkaHeader(
                    key: "x-dlq-value-omitted", value: "\(record.value?.count ?? 0) bytes, too large for the topic"))
        }
        return KafkaProducerMessage(
            topic: topic, key: record.key, value: includeValue ? record.value : nil, headers: headers)
    }
}

extension DeadLetterRelay where C == ContinuousClock {
    /// A relay that waits on the continuous clock, as in production.
    public convenience init(
        store: any DeadLetterStoring, producer: any KafkaPublishing, configuration: Configuration, logger: Logger,
        metrics: ServiceMetrics = ServiceMetrics()
    ) {
        self.init(
            store: store, producer: producer, configuration: configuration, logger: logger, metrics: metrics,
            clock: ContinuousClock())
    }
}

/// How an outbox relay (`DeadLetterRelay`, `StatusRelay`) publishes.
public struct OutboxRelayConfiguration: Sendable {
    public var topic: String
    public var batchSize: Int
    /// How long to wait before looking again when the outbox is empty.
    public var idleInterval: Duration
    public var retry: ExponentialBackoff
    /// How long one database call may take before it is given up as failed (and retried
    /// with the backoff). PostgresNIO waits for an unreachable database indefinitely, and
    /// a call in flight when the connection was cut was seen never to end: without a
    /// bound, the relay stopped publishing and a graceful shutdown waited for ever.
    public var storeTimeout: Duration
    /// How long a published message may wait for the broker's acknowledgement, retries
    /// included, before it is given up as failed (the relay producer's
    /// `message.timeout.ms`); the record stays in the outbox and is published again.
    public var publishTimeout: Duration
    /// How often the relay that holds the outbox's lease renews it while it relays
    /// (`OutboxLease`). The lease lasts this plus `storeTimeout` plus `publishTimeout`: how
    /// long another instance's relay waits to take over from one that was killed.
    public var leaseRenewal: Duration

    public init(
        topic: String, batchSize: Int = 500, idleInterval: Duration = .milliseconds(200),
        retry: ExponentialBackoff = .infrastructure, storeTimeout: Duration = .seconds(10),
        publishTimeout: Duration = .seconds(15), leaseRenewal: Duration = .seconds(5)
    ) {
        self.topic = topic
        self.batchSize = batchSize
        self.idleInterval = idleInterval
        self.retry = retry
        self.storeTimeout = storeTimeout
        self.publishTimeout = publishTimeout
        self.leaseRenewal = leaseRenewal
    }

    /// One of a relay's database calls, given up after `storeTimeout` on `clock`.
    func bounded<T: Sendable, C: Clock>(
        _ operation: String, on clock: C, _ call: @escaping @Sendable () async throws -> T
    ) async throws -> T where C.Duration == Duration {
        try await StoreDeadline.run(storeTimeout, on: clock, operation: operation, call)
    }
}
