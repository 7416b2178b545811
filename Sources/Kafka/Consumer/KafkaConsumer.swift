import Logging

/// A member of a consumer group that delivers messages as an `AsyncSequence`.
///
/// librdkafka's poll loop runs on a thread of its own, never on Swift's cooperative
/// pool, and reads ahead up to `maxBufferedMessages`. Offsets are manual: mark a message
/// processed with `markProcessed(_:)` once its effects are durable, then commit on a
/// timer with `commitMarked()`. What was marked is also committed on revocation (inside
/// the rebalance, before the partitions are given up) and on `close()`.
///
/// Dropping the consumer (and any iterator of `messages`) without `close()` still leaves
/// the group and frees the handle, on the poll thread, in the background.
public final class KafkaConsumer: Sendable {
    let core: ConsumerCore

    /// Creates the consumer. It connects and joins the group once it is subscribed.
    /// - Parameter revocationHandler: called on the poll thread inside a rebalance, just
    ///   before the offsets marked as processed are committed and the partitions given
    ///   up; the place to mark work that has just completed. Must not block for long.
    public init(
        configuration: KafkaConsumerConfiguration, logger: Logger = Logger(label: "kafka.consumer"),
        revocationHandler: (@Sendable ([KafkaTopicPartition]) -> Void)? = nil
    ) throws(KafkaError) {
        core = try ConsumerCore(configuration: configuration, logger: logger, revocationHandler: revocationHandler)
        core.startPollThread()
    }

    deinit {
        core.requestStop()
    }

    /// The messages, in order per partition. Iterate it from one task at a time.
    /// Iteration ends with `close()` or when the task is cancelled, and throws if the
    /// consumer failed fatally.
    public var messages: KafkaConsumerMessages { KafkaConsumerMessages(consumer: self) }

    /// The same messages in batches, for callers that work in batches.
    public var batches: KafkaConsumerBatches { KafkaConsumerBatches(consumer: self) }

    /// Assignments, revocations, losses and errors, as they happen. Keeps the newest
    /// 1,000 events when nobody reads them.
    public var events: AsyncStream<KafkaConsumerEvent> { core.events }

    /// The next non-empty batch, waiting for one; nil when the consumer is closed or the
    /// task cancelled (what an iterator of `batches` returns).
    public func nextBatch() async throws -> [KafkaMessage]? { try await core.nextBatch() }

    /// Up to `limit` of the messages already read ahead, oldest first, without waiting
    /// (empty when there are none): a caller that took a batch can top it up this way
    /// before it processes it. Use it from the task that iterates `batches` or `messages`.
    public func takeBuffered(upTo limit: Int = .max) -> [KafkaMessage] { core.takeBuffered(upTo: limit) }

    /// Subscribes to `topics` and joins the group.
    public func subscribe(topics: [String]) throws(KafkaError) {
        try core.rdKafka.subscribe(topics)
    }

    /// Marks `message` as processed: its next offset is committed by the next
    /// `commitMarked()`, on revocation and on close. Throws when the partition is no
    /// longer assigned to this member.
    public func markProcessed(_ message: KafkaMessage) throws(KafkaError) {
        try markProcessed([message.nextOffset])
    }

    /// Marks the given next offsets (last processed + 1) for commit.
    public func markProcessed(_ offsets: [KafkaTopicPartitionOffset]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        try core.rdKafka.storeOffsets(offsets)
    }

    /// Commits the offsets marked as processed and waits for the broker's answer.
    /// Does nothing when nothing new was marked. Throws a retriable `_TIMED_OUT` when the
    /// group coordinator does not answer within `timeout`; the marks are kept, so a
    /// later commit writes them.
    public func commitMarked(timeout: Duration = .seconds(30)) async throws(KafkaError) {
        try await core.commit(nil, timeout: timeout)
    }

    /// Commits exactly these offsets (each the next offset to read) and waits for the
    /// broker's answer, without blocking a thread. Throws a retriable `_TIMED_OUT` when
    /// the group coordinator does not answer within `timeout`.
    public func commit(_ offsets: [KafkaTopicPartitionOffset], timeout: Duration = .seconds(30))
        async throws(KafkaError)
    {
        guard !offsets.isEmpty else { return }
        try await core.commit(offsets, timeout: timeout)
    }

    /// Commits these offsets, blocking the calling thread until the broker answers.
    /// For code that runs on a thread of its own, such as a revocation handler;
    /// never call it from a Swift task.
    public func commitSynchronously(_ offsets: [KafkaTopicPartitionOffset]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        try core.rdKafka.commitBlocking(offsets, operation: "commit")
    }

    /// Stops fetching from these partitions until `resume(_:)`; messages already read
    /// ahead are still delivered.
    public func pause(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        try core.pause(partitions)
    }

    /// Fetches from these partitions again.
    public func resume(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        try core.resume(partitions)
    }

    /// The partitions currently assigned to this member.
    public func assignment() throws(KafkaError) -> [KafkaTopicPartition] {
        try core.rdKafka.assignment()
    }

    /// The group's committed offsets for these partitions (nil where none is committed).
    public func committedOffsets(
        for partitions: [KafkaTopicPartition], timeout: Duration = .seconds(10)
    ) async throws(KafkaError) -> [KafkaTopicPartition: Int64?] {
        let rdKafka = core.rdKafka!
        return try await BlockingCall.run { () throws(KafkaError) -> [KafkaTopicPartition: Int64?] in
            try rdKafka.committedOffsets(for: partitions, timeout: timeout)
        }
    }

    /// Starts closing without waiting: iteration of `messages` ends once the group is
    /// left. For signal handlers and other synchronous code.
    public func requestClose() {
        core.requestStop()
    }

    /// Commits what was marked as processed, leaves the group and frees the handle.
    /// Iteration of `messages` then ends; messages read ahead but not yet handed out
    /// are dropped, and the partitions' next owner reads them from the committed offset.
    public func close() async {
        await core.close()
    }
}
