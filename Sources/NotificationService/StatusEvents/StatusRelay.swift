import Foundation
import Kafka
import Logging
import ReminderCore
import ReminderStore
import ServiceLifecycle
import Synchronization

/// Publishes the status outbox to the status topic: each record keyed by the reminder's
/// `user_id`, valued as `schemas/reminder-status.v1.json`, with an `x-status-id` header to
/// deduplicate on, and marked published once the broker has acknowledged it. At least
/// once: a crash between publish and mark, or a failed batch, publishes a record again
/// with the same id. In order per reminder: records go out in outbox order, and a record
/// whose reminder has an earlier record that failed in the same batch is not marked
/// either, so its last copy on the topic follows every earlier one.
///
/// One relay publishes at a time, whichever instances run one: each asks for the outbox's
/// lease before it reads (`OutboxLease`), the holder renews it while it relays and gives
/// it up when it stops, and the others wait, asking every idle interval, to take it over
/// once it is given up or has expired.
///
/// The holder publishes new reminders' records that its instance's ingest hands over
/// after their commit (`StatusHandOff`) without reading them back, while its last read of
/// the outbox found less than a batch and nothing failed since; an idle relay wakes when
/// records are handed over. It reads the outbox, for every other record, when nothing was
/// handed over, and otherwise once an idle interval has passed and the hand-off is empty,
/// or five when it is not.
public final class StatusRelay<C: Clock>: Service, Sendable where C.Duration == Duration {
    public typealias Configuration = OutboxRelayConfiguration

    private let store: any StatusEventStoring
    private let producer: any KafkaPublishing
    private let configuration: Configuration
    private let logger: Logger
    private let metrics: ServiceMetrics
    private let retry: RetryLoop<C>
    /// Its hold on the outbox's lease.
    private let lease: OutboxLeaseHolder<C>
    /// Its instance's ingest's new reminders' records (nil: none handed over).
    private let handOff: StatusHandOff?
    private let state: Mutex<RelayState>

    private struct RelayState {
        /// Whether its last read found less than a batch, and every publish since went out:
        /// handed-over records may go ahead of what the reads have not reached.
        var caughtUp = false
        var lastRead: C.Instant?
    }

    /// `clock`: what the relay's waits are measured on; `random`: the backoff's jitter draw;
    /// `handOff`: what its instance's ingest hands over.
    public init(
        store: any StatusEventStoring, producer: any KafkaPublishing, configuration: Configuration, logger: Logger,
        metrics: ServiceMetrics = ServiceMetrics(), clock: C, handOff: StatusHandOff? = nil,
        random: @escaping @Sendable () -> Double = { .random(in: 0..<1) }
    ) {
        self.retry = RetryLoop(backoff: configuration.retry, clock: clock, random: random)
        self.store = store
        self.producer = producer
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        self.lease = OutboxLeaseHolder(
            "status", store: store, configuration: configuration, clock: clock, logger: logger)
        self.handOff = handOff
        self.state = Mutex(RelayState())
    }

    /// Who this relay is to the lease (host, process, and a random part for the rest).
    public var holder: String { lease.holder }

    public func run() async throws {
        // Between a commit and the next idle interval's end ingest would commit more
        // records than the hand-off holds: the relay wakes as soon as one is offered.
        let offered = WakeSignal()
        handOff?.whenOffered { offered.signal() }
        await retry.drain(
            idle: configuration.idleInterval, logger: logger, what: "status",
            idleWait: { [clock = retry.clock] in await offered.wait(timeout: $0, on: clock) }
        ) {
            try await relayOnce()
        }
        handOff?.setOpen(false)
        await producer.close(flushTimeout: .seconds(5))
        await lease.release()
    }

    /// Publishes a batch from the hand-off, or of the outbox read, or both, if this relay
    /// holds the lease. Returns how many records it marked published or, of those handed
    /// over, left to the reads: 0 when there was nothing to do.
    @discardableResult
    public func relayOnce() async throws -> Int {
        guard try await holdsLease() else { return 0 }
        var relayed = 0
        var handedOver = false
        if let handOff, state.withLock({ $0.caughtUp }), !handOff.isEmpty {
            relayed += try await relayHandedOver(handOff)
            handedOver = true
        }
        // A read when nothing was handed over; otherwise once an idle interval has passed
        // and the hand-off is empty (a read would find what it holds, committed, and
        // publish it instead), or after five when it is not (ingest outruns the relay).
        let sinceRead = state.withLock { state in
            state.caughtUp ? state.lastRead.map { $0.duration(to: retry.clock.now) } : nil
        }
        let readDue =
            sinceRead.map {
                $0 >= configuration.idleInterval * 5
                    || ($0 >= configuration.idleInterval && handOff?.isEmpty != false)
            } ?? true
        if !handedOver || readDue {
            relayed += try await relayRead()
        }
        return relayed
    }

    /// Reads a batch of the outbox and publishes it.
    private func relayRead() async throws -> Int {
        let now = retry.clock.now
        let records: [StatusEventStore.Record]
        do {
            records = try await configuration.bounded("read unpublished status events", on: retry.clock) {
                [store, configuration] in try await store.unpublished(limit: configuration.batchSize)
            }
        } catch {
            fallBehind()
            throw error
        }
        state.withLock { $0.lastRead = now }
        let published = try await publish(records, handedOff: false)
        setCaughtUp(records.count < configuration.batchSize && published == records.count)
        return published
    }

    /// Publishes what the hand-off holds that the reads have not reached
    /// (`StatusHandOff.publishable`); the rest is left to them.
    private func relayHandedOver(_ handOff: StatusHandOff) async throws -> Int {
        let handed = handOff.take(upTo: configuration.batchSize)
        let records = StatusHandOff.publishable(handed, scannedThrough: store.scannedThrough)
        return try await publish(records, handedOff: true) + handed.count - records.count
    }

    /// Publishes `records` and marks those published that the broker acknowledged and that
    /// no earlier record of their reminder in the batch is held back for; returns how many
    /// it marked. A failed send or mark throws, and handed-over records wait for a read.
    private func publish(_ records: [StatusEventStore.Record], handedOff: Bool) async throws -> Int {
        guard !records.isEmpty else { return 0 }
        guard lease.mayPublish else {
            fallBehind()
            return 0
        }
        do {
            let results = await producer.send(records.map { Self.message($0, topic: configuration.topic) })
            let published = Self.markable(records, results.map { if case .failure = $0 { false } else { true } })
            let sequences = published.map(\.sequence)
            try await configuration.bounded("mark status events published", on: retry.clock) { [store] in
                try await store.markPublished(sequences, handedOff: handedOff)
            }
            metrics.published(statusTypes: published.map(\.type))
            let failures = results.compactMap { if case .failure(let error) = $0 { error } else { nil } }
            if let error = failures.first {
                throw error
            }
            return published.count
        } catch {
            fallBehind()
            throw error
        }
    }

    /// Until a read finds less than a batch and publishes it all, the hand-off is shut and
    /// what it held is left to the reads.
    private func fallBehind() { setCaughtUp(false) }

    /// Whether the relay takes handed records: it has caught up with the outbox, and the
    /// hand-off is open, or it has not, and it is shut.
    private func setCaughtUp(_ caughtUp: Bool) {
        state.withLock { $0.caughtUp = caughtUp }
        handOff?.setOpen(caughtUp)
    }

    /// Whether this relay holds the lease (`OutboxLeaseHolder`); until it does again, the
    /// hand-off is shut.
    private func holdsLease() async throws -> Bool {
        let held: Bool
        do {
            held = try await lease.holds()
        } catch {
            fallBehind()
            throw error
        }
        if !held { fallBehind() }
        return held
    }

    /// The records to mark published: those acknowledged, except any whose reminder has an
    /// earlier record in the batch that was not (publishing it again keeps its last copy
    /// after the earlier one's).
    static func markable(_ records: [StatusEventStore.Record], _ acknowledged: [Bool]) -> [StatusEventStore.Record] {
        var held = Set<String>()
        var marked: [StatusEventStore.Record] = []
        for (record, acknowledged) in zip(records, acknowledged) {
            if acknowledged && !held.contains(record.reminderID) {
                marked.append(record)
            } else {
                held.insert(record.reminderID)
            }
        }
        return marked
    }

    /// The status record: key `user_id`, the contract's JSON, `x-status-*` headers.
    static func message(_ record: StatusEventStore.Record, topic: String) -> KafkaProducerMessage {
        let id = record.id.lowercasedText
        var headers = [
            KafkaHeader(key: "x-status-id", value: id),
            KafkaHeader(key: "x-status-type", value: record.type),
            KafkaHeader(key: "content-type", value: "application/json"),
        ]
        if let id = record.correlationID { headers.append(KafkaHeader(key: "x-correlation-id", value: id)) }
        return KafkaProducerMessage(
            topic: topic, key: Array(record.userID.utf8), value: StatusBody.json(record, id: id), headers: headers)
    }
}

extension StatusRelay where C == ContinuousClock {
    /// A relay that waits on the continuous clock, as in production.
    public convenience init(
        store: any StatusEventStoring, producer: any KafkaPublishing, configuration: Configuration, logger: Logger,
        metrics: ServiceMetrics = ServiceMetrics()
    ) {
        self.init(
            store: store, producer: producer, configuration: configuration, logger: logger, metrics: metrics,
            clock: ContinuousClock())
    }
}

/// A status record's value (`schemas/reminder-status.v1.json`): absent fields are left
/// out, keys in sorted order. Written directly as UTF-8 bytes, the form the producer
/// takes, rather than through `JSONEncoder` (a tenth of the service's CPU while the relay
/// kept up with ingest; perf, issue 19), a `JSONValue` tree or a `String` copied into
/// bytes afterwards.
enum StatusBody {
    /// `id`: the record's id as the contract writes it (`lowercasedText`), formatted once
    /// by the caller for its header too.
    static func json(_ record: StatusEventStore.Record, id: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(384)
        // `at` is always there: the first member; every later one starts with a comma.
        JSONValue.append(literal: #"{"at":"#, to: &bytes)
        JSONValue.append(string: record.at, to: &bytes)
        func name(_ name: StaticString) { JSONValue.append(nextMember: name, to: &bytes) }
        func string(_ key: StaticString, _ value: String?) {
            guard let value else { return }
            JSONValue.append(nextMember: key, string: value, to: &bytes)
        }
        func number(_ key: StaticString, _ value: Int64?) {
            guard let value else { return }
            name(key)
            bytes += String(value).utf8
        }
        number("attempt", Int64(record.attempt))
        string("channel", record.channel)
        string("correlation_id", record.correlationID)
        string("detail", record.detail)
        string("due_at", record.dueAt)
        string("error", record.error)
        string("id", id)
        number("occurrence", record.occurrence.map(Int64.init))
        string("provider", record.provider)
        string("reason", record.reason)
        string("reminder_id", record.reminderID)
        number("schema_version", 1)
        number("sequence", record.sequence)
        string("type", record.type)
        string("user_id", record.userID)
        if let willRetry = record.willRetry {
            name("will_retry")
            bytes += (willRetry ? "true" : "false").utf8
        }
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }
}
