import Kafka

/// Where `IngestPipeline` reads its messages: a consumer-group member with manual offsets.
/// A `KafkaConsumer` in production; in tests of the pipeline without a broker, partitions
/// of messages in the test's own process. Exactly what the pipeline calls: batches and
/// what is read ahead, pausing a lane's partitions while its store fails, marking and
/// committing offsets once their batch is stored, closing, and the figures for lag.
public protocol IngestSource: Sendable {
    /// Joins the group for `topics`.
    func subscribe(topics: [String]) throws(KafkaError)

    /// The next non-empty batch, waiting for one; nil once the source is closed (or closing)
    /// or the task is cancelled. Called from one task at a time.
    func nextBatch() async throws -> [KafkaMessage]?

    /// Up to `limit` messages already read ahead, oldest first, without waiting; called by
    /// the task that calls `nextBatch()`, to top up a batch.
    func takeBuffered(upTo limit: Int) -> [KafkaMessage]

    /// Stops fetching from these partitions until `resume(_:)`.
    func pause(_ partitions: [KafkaTopicPartition]) throws(KafkaError)

    func resume(_ partitions: [KafkaTopicPartition]) throws(KafkaError)

    /// The partitions assigned to this member, answered at once.
    func assignment() throws(KafkaError) -> [KafkaTopicPartition]

    /// The partitions assigned to this member, read off the caller's thread (for readiness
    /// and lag, which must not wait on a busy client).
    func currentAssignment() async throws(KafkaError) -> [KafkaTopicPartition]

    /// Marks next offsets (last stored + 1) for the next commit; throws for a partition no
    /// longer assigned to this member.
    func markProcessed(_ offsets: [KafkaTopicPartitionOffset]) throws(KafkaError)

    /// Commits what was marked; a source that is closed throws an error of category `.closed`.
    func commitMarked(timeout: Duration) async throws(KafkaError)

    /// Each partition's end and start; partitions that did not answer within `timeout` are
    /// left out.
    func partitionBounds(
        of partitions: [KafkaTopicPartition], timeout: Duration
    ) async throws(KafkaError) -> [KafkaTopicPartition: (start: Int64, end: Int64)]

    /// The group's committed offsets (nil where none is committed).
    func committedOffsets(
        for partitions: [KafkaTopicPartition], timeout: Duration
    ) async throws(KafkaError) -> [KafkaTopicPartition: Int64?]

    /// Starts closing without waiting: `nextBatch()` then returns nil. For synchronous code
    /// (a shutdown handler).
    func requestClose()

    /// Commits what was marked, leaves the group and releases the source.
    func close() async
}

extension KafkaConsumer: IngestSource {}
