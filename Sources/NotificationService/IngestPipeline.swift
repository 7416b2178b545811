import Foundation
import Kafka
import Logging
import ReminderStore
import ServiceLifecycle

/// Consumes the reminders topic in batches, stores each batch in one transaction, and
/// only then marks its offsets for commit. While the database fails, it pauses the
/// assignment and retries the same batch with backoff; nothing is committed for
/// messages not stored. On graceful shutdown it finishes the batch in hand, commits and
/// leaves the group.
public final class IngestPipeline: Service, Sendable {
    public struct Configuration: Sendable {
        public var topic: String
        /// How many messages a transaction aims at: while a batch taken from the consumer
        /// is smaller, it is topped up with what is already read ahead.
        public var batchSize: Int
        /// How long a batch smaller than `batchSize` waits for more messages before it
        /// is stored: a little latency for fewer, larger transactions under light load.
        public var linger: Duration
        /// How often marked offsets are committed (they are also committed on
        /// revocation and shutdown).
        public var commitInterval: Duration
        public var retry: Backoff
        /// How long one attempt to store a batch may take, waiting for a connection
        /// included, before it counts as failed (and is retried; the inbox makes a retry
        /// of a transaction that did commit harmless).
        public var storeTimeout: Duration

        public init(
            topic: String = "reminders", batchSize: Int = 5_000, linger: Duration = .milliseconds(5),
            commitInterval: Duration = .milliseconds(500), retry: Backoff = Backoff(),
            storeTimeout: Duration = .seconds(10)
        ) {
            self.topic = topic
            self.batchSize = batchSize
            self.linger = linger
            self.commitInterval = commitInterval
            self.retry = retry
            self.storeTimeout = storeTimeout
        }
    }

    private let consumer: KafkaConsumer
    private let store: IngestStore
    private let configuration: Configuration
    private let logger: Logger
    private let state = PipelineState()

    public init(consumer: KafkaConsumer, store: IngestStore, configuration: Configuration, logger: Logger) {
        self.consumer = consumer
        self.store = store
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        try consumer.subscribe(topics: [configuration.topic])
        logger.info("ingest started", metadata: ["topic": "\(configuration.topic)"])
        let consumer = self.consumer
        let state = self.state
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Commits on a timer, whether or not more messages arrive.
                group.addTask { await self.commitPeriodically() }
                var batches = consumer.batches.makeAsyncIterator()
                while state.beginWaiting() {
                    guard var batch = try await batches.next() else { break }
                    batch += consumer.takeBuffered()
                    if batch.count < configuration.batchSize && configuration.linger > .zero {
                        try? await Task.sleep(for: configuration.linger)
                        batch += consumer.takeBuffered()
                    }
                    guard state.beginProcessing() else {
                        // Shutting down: this batch is not stored; the next owner reads it again.
                        break
                    }
                    // False when shutdown came while the batch could not be stored.
                    guard try await ingest(batch) else { break }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            // Stop fetching; the batch in hand (if any) is finished first.
            if state.requestStop() { consumer.requestClose() }
        }
        await consumer.close()
        logger.info("ingest stopped")
    }

    /// Stores the batch and marks its offsets; returns false when shutdown came first.
    private func ingest(_ batch: [KafkaMessage]) async throws -> Bool {
        let records = batch.map(IngestRecord.init)
        var attempt = 0
        var paused: [KafkaTopicPartition] = []
        while true {
            do {
                let summary = try await storeWithTimeout(records)
                report(summary, records)
                break
            } catch {
                attempt += 1
                if attempt == 1 {
                    paused = (try? consumer.assignment()) ?? []
                    try? consumer.pause(paused)
                }
                let delay = configuration.retry.delay(attempt: attempt, random: Double.random(in: 0..<1))
                logger.error(
                    "storing a batch failed; partitions paused, retrying",
                    metadata: [
                        "error": "\(error)", "attempt": "\(attempt)", "retry_in": "\(delay)",
                        "messages": "\(records.count)",
                    ])
                if state.isStopping {
                    // Shutting down with the database away: leave the batch uncommitted;
                    // the partitions' next owner reads it again.
                    return false
                }
                try await Task.sleep(for: delay)
            }
        }
        if !paused.isEmpty {
            try? consumer.resume(paused)
            logger.info("storing works again; partitions resumed", metadata: ["attempts": "\(attempt + 1)"])
        }
        // The batch is stored: its offsets may be committed. Marks for partitions this
        // member no longer owns fail, which is right: their new owner re-reads and
        // deduplicates them.
        var next: [KafkaTopicPartition: Int64] = [:]
        for message in batch {
            next[message.topicPartition] = max(next[message.topicPartition] ?? 0, message.offset + 1)
        }
        do {
            try consumer.markProcessed(next.map { KafkaTopicPartitionOffset($0.key, offset: $0.value) })
        } catch {
            logger.info("offsets of a stored batch not marked (partition moved)", metadata: ["error": "\(error)"])
        }
        return true
    }

    private func storeWithTimeout(_ records: [IngestRecord]) async throws -> IngestSummary {
        let store = self.store
        let timeout = configuration.storeTimeout
        return try await withThrowingTaskGroup(of: IngestSummary?.self) { group in
            group.addTask { try await store.ingest(records) }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let summary = try await group.next() ?? nil else {
                throw StoreError(
                    code: .connection, operation: "store a batch", message: "no answer within \(timeout)",
                    isRetriable: true)
            }
            return summary
        }
    }

    private func report(_ summary: IngestSummary, _ records: [IngestRecord]) {
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
                "invalid": "\(summary.invalid)",
            ])
    }

    private func commitPeriodically() async {
        while (try? await Task.sleep(for: configuration.commitInterval)) != nil {
            do {
                try await consumer.commitMarked(timeout: .seconds(10))
            } catch  where error.category == .closed {
                return
            } catch {
                logger.warning("offset commit failed; retried with the next one", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Whether the pipeline waits for messages, processes a batch, or stops: a stop that
/// arrives while a batch is processed lets it finish first.
final class PipelineState: @unchecked Sendable {
    private let lock = NSLock()
    private var stopping = false
    private var processing = false

    /// False when the pipeline should stop instead of waiting for more.
    func beginWaiting() -> Bool {
        lock.withLock {
            processing = false
            return !stopping
        }
    }

    func beginProcessing() -> Bool {
        lock.withLock {
            processing = !stopping
            return processing
        }
    }

    /// Returns true when the pipeline is waiting for messages and the consumer must be
    /// closed to wake it.
    func requestStop() -> Bool {
        lock.withLock {
            stopping = true
            return !processing
        }
    }

    var isStopping: Bool { lock.withLock { stopping } }
}
