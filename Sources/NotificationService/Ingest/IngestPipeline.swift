import Foundation
import Kafka
import Logging
import ReminderCore
import ReminderStore
import ServiceLifecycle
import Synchronization

/// Consumes the reminders topic in batches, stores each batch in one transaction, and
/// only then marks its offsets for commit. Partitions are spread over store lanes
/// (partition modulo the lane count); each lane stores batches of its partitions one
/// after another, so a partition's events are stored in order while the lanes decode
/// and write in parallel. A lane takes its next batch as soon as it is free, from what
/// was read for it (`IngestHandOff`), whatever the other lanes are doing. While the
/// database fails, a lane pauses its partitions and retries the same batch with backoff;
/// nothing is committed for messages not stored.
/// On graceful shutdown the batches in hand are finished and committed (a batch still
/// waiting to be retried is left uncommitted: the partitions' next owner reads it again,
/// and the inbox stores nothing twice), and the consumer leaves the group.
///
/// Its waits (linger, commit timer, backoff, a store attempt's limit) run on `C`: the
/// continuous clock in production, a `ManualClock` in tests. It reads from an
/// `IngestSource` and stores through an `IngestStoring`: a `KafkaConsumer` and the
/// PostgreSQL `IngestStore` in production, in-memory ones in tests without I/O.
public final class IngestPipeline<C: Clock>: Service, Sendable where C.Duration == Duration {
    public typealias Configuration = IngestPipelineConfiguration

    private let source: any IngestSource
    private let store: any IngestStoring
    private let configuration: Configuration
    private let logger: Logger
    /// What passes between the reader and the lanes (tests read its counts).
    let state: IngestHandOff
    private let metrics: ServiceMetrics
    private let started = Mutex<C.Instant?>(nil)
    private let retry: RetryLoop<C>
    /// Told when the lanes have stored everything read, so that the committer need not
    /// wait for the interval.
    private let caughtUp = WakeSignal()

    /// `clock`: what the pipeline's waits are measured on.
    public init(
        source: any IngestSource, store: any IngestStoring, configuration: Configuration, logger: Logger,
        metrics: ServiceMetrics = ServiceMetrics(), clock: C
    ) {
        self.retry = RetryLoop(backoff: configuration.retry, clock: clock)
        self.state = IngestHandOff(
            lanes: configuration.lanes, batchSize: configuration.batchSize, batchBytes: configuration.batchBytes)
        self.source = source
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
    }

    /// When `run` subscribed; nil before.
    public var startedAt: C.Instant? { started.withLock { $0 } }

    /// The partitions this member owns now; nil once the consumer is closed.
    public func assignedPartitions() async -> [KafkaTopicPartition]? {
        try? await source.currentAssignment()
    }

    /// The consumer group's lag on each assigned partition whose leader answered: the
    /// partition's end less the group's committed offset (offsets are committed only
    /// once their batch is stored, so this counts messages not stored yet; a partition
    /// without a committed offset counts from its start).
    public func lag() async -> [KafkaTopicPartition: Int64] {
        guard let partitions = await assignedPartitions(), !partitions.isEmpty,
            let bounds = try? await source.partitionBounds(of: partitions, timeout: .seconds(2)),
            let committed = try? await source.committedOffsets(for: partitions, timeout: .seconds(2))
        else { return [:] }
        var lag: [KafkaTopicPartition: Int64] = [:]
        for (partition, bound) in bounds {
            let done = (committed[partition] ?? nil) ?? bound.start
            lag[partition] = max(0, bound.end - done)
        }
        return lag
    }

    public func run() async throws {
        try source.subscribe(topics: [configuration.topic])
        started.withLock { [now = retry.clock.now] in $0 = now }
        logger.info(
            "ingest started", metadata: ["topic": "\(configuration.topic)", "lanes": "\(configuration.lanes)"])
        let source = self.source
        let state = self.state
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Commits on a timer, whether or not more messages arrive.
                group.addTask { await self.commitPeriodically() }
                try await withThrowingTaskGroup(of: Void.self) { laneGroup in
                    for lane in 0..<configuration.lanes {
                        laneGroup.addTask { try await self.runLane(lane) }
                    }
                    defer { state.finish() }
                    try await read()
                    state.finish()
                    try await laneGroup.waitForAll()
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            // Stop fetching; the batches in hand (if any) are finished first.
            if state.requestStop() { source.requestClose() }
        }
        await source.close()
        logger.info("ingest stopped")
    }

    /// Reads the consumer into the lanes' queues while they have room, as much as they
    /// have room for (a read of the consumer is not split: it may pass that by a poll).
    private func read() async throws {
        while await state.readyForMore() {
            guard var batch = try await source.nextBatch() else { break }
            let target = max(batch.count, state.room)
            batch += source.takeBuffered(upTo: target - batch.count)
            if batch.count < target && configuration.linger > .zero {
                try? await retry.clock.sleep(for: configuration.linger)
                batch += source.takeBuffered(upTo: target - batch.count)
            }
            // Shutting down: what was read is not stored; the next owner reads it again.
            guard state.add(batch) else { return }
        }
    }

    /// Stores the batches of one lane in the order they come. While it stores one, it
    /// takes the next if its queue holds a whole batch already, and decodes it meanwhile:
    /// decoding is about a fifth of ingest's CPU, and a lane that decoded a batch only once
    /// it had stored the one before left its database connection idle meanwhile. After
    /// shutdown began, batches not yet started are left unstored (and uncommitted).
    private func runLane(_ number: Int) async throws {
        var taken = await state.next(for: number).map(DecodedBatch.init)
        while let batch = taken {
            // False when shutdown came while the batch could not be stored: the later
            // ones are not started either.
            let begun = state.beginProcessing(lane: number)
            async let following = begun ? state.nextIfFull(for: number).map(DecodedBatch.init) : nil
            if begun { _ = try await ingest(batch, lane: number) }
            if state.endProcessing() { source.requestClose() }
            if state.holdsNothing { caughtUp.signal() }
            if let decoded = await following {
                taken = decoded
            } else {
                taken = await state.next(for: number).map(DecodedBatch.init)
            }
        }
    }

    /// A batch as a lane stores it: its records, and the offsets to mark once they are
    /// stored (the messages themselves are not kept for that).
    private struct DecodedBatch {
        let records: [IngestRecord]
        /// A partition's messages come in offset order: its last one gives the next offset.
        let nextOffsets: [KafkaTopicPartitionOffset]

        init(_ messages: [KafkaMessage]) {
            records = messages.map(IngestRecord.init)
            var next: [KafkaTopicPartition: KafkaTopicPartitionOffset] = [:]
            for message in messages { next[message.topicPartition] = message.nextOffset }
            nextOffsets = Array(next.values)
        }
    }

    /// Stores the batch and marks its offsets; returns false when shutdown came first.
    private func ingest(_ batch: DecodedBatch, lane: Int) async throws -> Bool {
        var records = batch.records
        let trace = IngestTrace(&records, enabled: TracingBackend.isEnabled)
        var stored = false
        defer { trace.finish(stored: stored) }
        var attempts = 0
        var paused: [KafkaTopicPartition] = []
        let summary: IngestSummary
        do {
            summary = try await retry.run(
                stopWhen: { state.isStopping },
                onFailure: { failure in
                    if failure.attempt == 1 { paused = pausePartitions(of: lane) }
                    logger.error(
                        "storing a batch failed; partitions paused, retrying",
                        metadata: [
                            "error": "\(failure.error)", "attempt": "\(failure.attempt)",
                            "retry_in": "\(failure.retryIn)", "messages": "\(records.count)", "lane": "\(lane)",
                        ])
                }
            ) {
                attempts += 1
                return try await trace.storing(attempt: attempts, lane: lane) { try await storeWithTimeout(records) }
            }
        } catch  where state.isStopping {
            // Shutting down with the database away: leave the batch uncommitted; the
            // partitions' next owner reads it again.
            return false
        }
        stored = true
        report(summary, records)
        if !paused.isEmpty {
            try? source.resume(paused)
            logger.info(
                "storing works again; partitions resumed", metadata: ["attempts": "\(attempts)", "lane": "\(lane)"])
        }
        // The batch is stored: its offsets may be committed. Marks for partitions this
        // member no longer owns fail, which is right: their new owner re-reads and
        // deduplicates them.
        do {
            try source.markProcessed(batch.nextOffsets)
        } catch {
            logger.info("offsets of a stored batch not marked (partition moved)", metadata: ["error": "\(error)"])
        }
        return true
    }

    /// Pauses the partitions of `lane` while its batch cannot be stored; returns them.
    private func pausePartitions(of lane: Int) -> [KafkaTopicPartition] {
        let lanes = configuration.lanes
        let paused = ((try? source.assignment()) ?? []).filter {
            IngestHandOff.lane(of: $0.partition, lanes: lanes) == lane
        }
        try? source.pause(paused)
        return paused
    }

    private func storeWithTimeout(_ records: [IngestRecord]) async throws -> IngestSummary {
        let store = self.store
        return try await StoreDeadline.run(configuration.storeTimeout, on: retry.clock, operation: "store a batch") {
            try await store.ingest(records)
        }
    }

    private func report(_ summary: IngestSummary, _ records: [IngestRecord]) {
        metrics.ingested(summary, messages: records.count)
        if summary.replayed + summary.replaysIgnored > 0 {
            logger.info(
                "dead letters replayed",
                metadata: ["reset": "\(summary.replayed)", "ignored": "\(summary.replaysIgnored)"])
        }
        if summary.ownershipConflicts > 0 {
            logger.warning(
                "events naming another user's reminder dead-lettered as ownership_conflict; nothing changed",
                metadata: ["events": "\(summary.ownershipConflicts)"])
        }
        for skipped in summary.skipped {
            let record = records[skipped.position]
            logger.info(
                "event skipped",
                metadata: [
                    "reason": "\(skipped.reason)", "partition": "\(record.partition)", "offset": "\(record.offset)",
                ])
        }
        logger.debug(
            "batch stored",
            metadata: [
                "messages": "\(records.count)", "accepted": "\(summary.accepted)", "created": "\(summary.created)",
                "duplicates": "\(summary.duplicates)", "conflicts": "\(summary.conflicts)",
                "invalid": "\(summary.invalid)", "ownership_conflicts": "\(summary.ownershipConflicts)",
            ])
    }

    /// Commits what the lanes marked once the commit interval has passed since the last
    /// commit, or sooner once the lanes have stored everything read: then a tenth of the
    /// interval after the last commit. A consumer that has caught up has its offsets, and
    /// its lag, current within that, without committing every small batch of a trickle.
    private func commitPeriodically() async {
        let clock = retry.clock
        let interval = configuration.commitInterval
        var last = clock.now
        while true {
            do {
                try await clock.sleep(until: last.advanced(by: interval / 10), tolerance: nil)
            } catch {
                return
            }
            await caughtUp.wait(timeout: clock.now.duration(to: last.advanced(by: interval)), on: clock)
            if Task.isCancelled { return }
            last = clock.now
            do {
                try await source.commitMarked(timeout: .seconds(10))
            } catch  where error.category == .closed {
                return
            } catch {
                logger.warning("offset commit failed; retried with the next one", metadata: ["error": "\(error)"])
            }
        }
    }
}

extension IngestPipeline where C == ContinuousClock {
    /// A pipeline that waits on the continuous clock, as in production.
    public convenience init(
        source: any IngestSource, store: any IngestStoring, configuration: Configuration, logger: Logger,
        metrics: ServiceMetrics = ServiceMetrics()
    ) {
        self.init(
            source: source, store: store, configuration: configuration, logger: logger, metrics: metrics,
            clock: ContinuousClock())
    }
}

/// How an `IngestPipeline` consumes and stores.
public struct IngestPipelineConfiguration: Sendable {
    public var topic: String
    /// The most messages a lane stores in one transaction. The pipeline reads up to a
    /// batch for each lane at a time (topped up with what is already read ahead) and
    /// queues about a batch for each lane ahead of the lanes (two while a lane is idle).
    public var batchSize: Int
    /// The most bytes of messages (`KafkaMessage.byteCount`) a lane stores in one
    /// transaction, and so in the queue: a batch of large events stops here before
    /// `batchSize`. A message larger than this is a batch alone.
    public var batchBytes: Int
    /// How long a smaller batch waits for more messages before it is stored: a
    /// little latency for fewer, larger transactions under light load.
    public var linger: Duration
    /// Transactions in flight at once, each for its own partitions.
    public var lanes: Int
    /// How often marked offsets are committed while the lanes are storing; once they
    /// have stored everything read, a tenth of it after the last commit. They are also
    /// committed on revocation and shutdown.
    public var commitInterval: Duration
    public var retry: ExponentialBackoff
    /// How long one attempt to store a batch may take, waiting for a connection
    /// included, before it counts as failed (and is retried; the inbox makes a retry
    /// of a transaction that did commit harmless).
    public var storeTimeout: Duration

    public init(
        topic: String = "reminders", batchSize: Int = 2_500, batchBytes: Int = 4 << 20,
        linger: Duration = .milliseconds(5), lanes: Int = 2, commitInterval: Duration = .milliseconds(500),
        retry: ExponentialBackoff = .infrastructure, storeTimeout: Duration = .seconds(10)
    ) {
        self.topic = topic
        self.batchSize = batchSize
        self.batchBytes = batchBytes
        self.linger = linger
        self.lanes = max(1, lanes)
        self.commitInterval = commitInterval
        self.retry = retry
        self.storeTimeout = storeTimeout
    }
}
