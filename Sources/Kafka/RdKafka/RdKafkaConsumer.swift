import CRdKafka
import Foundation

/// A rebalance as librdkafka reports it, in Swift values.
enum RdKafkaRebalance {
    case assign([KafkaTopicPartition])
    case revoke([KafkaTopicPartition])
    case failed(KafkaError)
}

/// What a consumer's callbacks object receives besides logs and client errors. The
/// rebalance arrives on the poll thread, inside one of its polls.
class RdKafkaConsumerCallbacks: RdKafkaCallbacks, @unchecked Sendable {
    func handleRebalance(_ rebalance: RdKafkaRebalance) {}
}

/// librdkafka's consumer calls, in Swift values: a consumer handle, its consumer queue
/// (which only the poll thread serves) and its background queue (where commit results
/// arrive). Calls marked "poll thread" use the handle without the closing guard and may
/// only be made from the thread that destroys it.
final class RdKafkaConsumer: @unchecked Sendable {
    let client: RdKafkaClient
    /// `rd_kafka_queue_get_consumer`, owned here, destroyed with the handle.
    private let consumerQueue: OpaquePointer
    /// librdkafka's background queue: commit results arrive there as events.
    private let backgroundQueue: OpaquePointer
    /// Guards `leavingThread`, and is held while another thread hands a commit to
    /// librdkafka: see `withCommitGate`.
    private let commitGate = NSLock()
    /// The poll thread, once it has started to leave the group.
    private var leavingThread: pthread_t?

    init(properties: [(String, String)], callbacks: RdKafkaConsumerCallbacks) throws(KafkaError) {
        client = try RdKafkaClient(kind: RD_KAFKA_CONSUMER, properties: properties, callbacks: callbacks) { conf in
            rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback)
            rd_kafka_conf_set_background_event_cb(conf, commitResultCallback)
        }
        let handle = client.ownerHandle
        // Route everything (messages, rebalances, errors) to the consumer queue.
        rd_kafka_poll_set_consumer(handle)
        consumerQueue = rd_kafka_queue_get_consumer(handle)
        backgroundQueue = rd_kafka_queue_get_background(handle)
    }

    // MARK: - Any thread

    func subscribe(_ topics: [String]) throws(KafkaError) {
        let list = TopicPartitionList.make(topics: topics)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = try client.withHandle("subscribe") { rd_kafka_subscribe($0, list) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .broker(err, operation: "subscribe to \(topics)") }
    }

    /// Stores next offsets for the next commit (`rd_kafka_offsets_store`).
    func storeOffsets(_ offsets: [KafkaTopicPartitionOffset]) throws(KafkaError) {
        let list = TopicPartitionList.make(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = try client.withHandle("store offsets") { rd_kafka_offsets_store($0, list) }
        if let error = TopicPartitionList.firstError(list, operation: "store offset") { throw error }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .broker(err, operation: "store offsets") }
    }

    /// Commits `offsets` (the stored ones when nil), blocking until the broker answers.
    func commitBlocking(_ offsets: [KafkaTopicPartitionOffset]?, operation: String) throws(KafkaError) {
        let list = offsets.map { TopicPartitionList.make($0) }
        defer { list.map { rd_kafka_topic_partition_list_destroy($0) } }
        let err = try withCommitGate(operation) { rd_kafka_commit($0, list, 0) }
        try Self.commitResult(err, list, operation: operation).get()
    }

    /// Commits `offsets` (the stored ones when nil) without blocking: `completion` gets
    /// the result exactly once, on librdkafka's background thread, or at once when the
    /// request is refused.
    func commitInBackground(
        _ offsets: [KafkaTopicPartitionOffset]?, operation: String,
        completion: @escaping @Sendable (Result<Void, KafkaError>) -> Void
    ) {
        // Retained for librdkafka; released by the result callback, or below when the
        // request is refused at once.
        let opaque = Unmanaged.passRetained(CommitCompletion(completion)).toOpaque()
        let list = offsets.map { TopicPartitionList.make($0) }
        defer { list.map { rd_kafka_topic_partition_list_destroy($0) } }
        let result: Result<Void, KafkaError>
        do throws(KafkaError) {
            let err = try withCommitGate(operation) { handle in
                rd_kafka_commit_queue(handle, list, backgroundQueue, nil, opaque)
            }
            guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return }
            result = Self.commitResult(err, nil, operation: operation)
        } catch {
            result = .failure(error)
        }
        Unmanaged<CommitCompletion>.fromOpaque(opaque).release()
        completion(result)
    }

    /// Hands a commit to librdkafka unless the group is being left. librdkafka may let the
    /// group terminate once no commit is outstanding, and a commit that arrives between
    /// that decision and the termination aborts the process (its assertion
    /// `!rd_kafka_assignment_in_progress` in `rd_kafka_cgrp_terminated`). So once the
    /// poll thread has started to leave, only it may commit (a revocation handler does,
    /// before the group can terminate); another thread's commit is answered `closed`.
    /// Held across the hand-over, the gate orders every commit it lets through before
    /// the close's own request, which then waits for it.
    private func withCommitGate<T>(_ operation: String, _ body: (OpaquePointer) -> T) throws(KafkaError) -> T {
        commitGate.lock()
        defer { commitGate.unlock() }
        if let leavingThread, pthread_equal(leavingThread, pthread_self()) == 0 {
            throw .closed(operation: operation)
        }
        return try client.withHandle(operation, body)
    }

    func pause(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        try changeFlow(partitions, operation: "pause", rd_kafka_pause_partitions)
    }

    func resume(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        try changeFlow(partitions, operation: "resume", rd_kafka_resume_partitions)
    }

    private func changeFlow(
        _ partitions: [KafkaTopicPartition], operation: String,
        _ call: (OpaquePointer?, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> rd_kafka_resp_err_t
    ) throws(KafkaError) {
        guard !partitions.isEmpty else { return }
        let list = TopicPartitionList.make(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = try client.withHandle(operation) { call($0, list) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .broker(err, operation: operation) }
        if let error = TopicPartitionList.firstError(list, operation: operation) { throw error }
    }

    func assignment() throws(KafkaError) -> [KafkaTopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let err = try client.withHandle("read assignment") { rd_kafka_assignment($0, &list) }
        defer { list.map { rd_kafka_topic_partition_list_destroy($0) } }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .broker(err, operation: "read assignment") }
        return TopicPartitionList.partitions(list)
    }

    /// The group's committed offsets (nil where none). Blocks up to `timeout`.
    func committedOffsets(for partitions: [KafkaTopicPartition], timeout: Duration) throws(KafkaError)
        -> [KafkaTopicPartition: Int64?]
    {
        let list = TopicPartitionList.make(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = try client.withHandle("read committed offsets") {
            rd_kafka_committed($0, list, Int32(clamping: timeout.milliseconds))
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw .broker(err, operation: "read committed offsets") }
        var result: [KafkaTopicPartition: Int64?] = [:]
        for element in TopicPartitionList.read(list) {
            result[element.offset.topicPartition] = element.offset.offset >= 0 ? element.offset.offset : nil
        }
        return result
    }

    /// A partition's start and end, asked of its leader; nil when it did not answer.
    /// Blocks up to `timeout`.
    func bounds(of partition: KafkaTopicPartition, timeout: Duration) throws(KafkaError) -> (start: Int64, end: Int64)?
    {
        var low: Int64 = -1
        var high: Int64 = -1
        let err = try client.withHandle("query partition bounds") {
            rd_kafka_query_watermark_offsets(
                $0, partition.topic, partition.partition, &low, &high, Int32(clamping: timeout.milliseconds))
        }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0 else { return nil }
        return (max(low, 0), high)
    }

    // MARK: - Poll thread

    /// Reads up to `limit` messages (at most the reader's capacity): what is there without
    /// waiting, or else waits up to `wait` for one.
    func read(upTo limit: Int, wait: Duration, reader: MessageReader) -> RdKafkaRead {
        let buffer = reader.slots
        let limit = min(limit, reader.capacity)
        var count = rd_kafka_consume_batch_queue(consumerQueue, 0, buffer, limit)
        if count == 0, let message = rd_kafka_consumer_poll(client.ownerHandle, Int32(clamping: wait.milliseconds)) {
            buffer[0] = message
            count = 1
        }
        var result = RdKafkaRead()
        if count < 0 {
            result.failure = .broker(rd_kafka_last_error(), operation: "consume")
            return result
        }
        result.messages.reserveCapacity(count)
        for index in 0..<count {
            let message = buffer[index]!
            defer { rd_kafka_message_destroy(message) }
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                result.messages.append(reader.read(message))
            } else if let fatal = client.fatalError(operation: "consume") {
                result.failure = fatal
            } else {
                result.errors.append(Self.messageError(message))
            }
        }
        return result
    }

    /// Polls without waiting: serves rebalances and callbacks, keeps the membership, and
    /// returns what arrived, if anything did.
    func serveGroup(reader: MessageReader) -> RdKafkaRead {
        read(upTo: 1, wait: .zero, reader: reader)
    }

    private static func messageError(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaError {
        let text = rd_kafka_message_errstr(message).map { String(cString: $0) }
        var operation = "consume"
        if let topic = message.pointee.rkt {
            operation += " from \(String(cString: rd_kafka_topic_name(topic)))[\(message.pointee.partition)]"
        }
        return KafkaError.broker(message.pointee.err, operation: operation, message: text)
    }

    /// Leaves the group (`rd_kafka_consumer_close`), which serves the final revocation on
    /// this thread. Returns why it failed, if it did. From here on commits from other
    /// threads are refused as closed; the revocation's own, on this thread, still go.
    func leaveGroup() -> KafkaError? {
        commitGate.withLock { leavingThread = pthread_self() }
        let err = rd_kafka_consumer_close(client.ownerHandle)
        return err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : .broker(err, operation: "close")
    }

    /// Frees the queues and the handle, after the calls in progress on other threads.
    func destroy() {
        // No call in progress on another thread (a commit) may still use a queue.
        client.closeAndDrain()
        rd_kafka_queue_destroy(consumerQueue)
        rd_kafka_queue_destroy(backgroundQueue)
        client.destroy()
    }

    // MARK: - Inside a rebalance (poll thread)

    private var isCooperative: Bool {
        String(cString: rd_kafka_rebalance_protocol(client.ownerHandle)) == "COOPERATIVE"
    }

    /// Takes the partitions of an assignment, incrementally under the cooperative protocol.
    func takeAssignment(_ partitions: [KafkaTopicPartition]) -> KafkaError? {
        let list = TopicPartitionList.make(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        if isCooperative {
            return rd_kafka_incremental_assign(client.ownerHandle, list).map {
                KafkaError.consuming($0, operation: "assign")
            }
        }
        let err = rd_kafka_assign(client.ownerHandle, list)
        return err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : .broker(err, operation: "assign")
    }

    /// Gives up revoked partitions, incrementally under the cooperative protocol.
    func giveUp(_ partitions: [KafkaTopicPartition]) -> KafkaError? {
        guard isCooperative else {
            dropAssignment()
            return nil
        }
        let list = TopicPartitionList.make(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return rd_kafka_incremental_unassign(client.ownerHandle, list).map {
            KafkaError.consuming($0, operation: "unassign")
        }
    }

    /// Drops the whole assignment.
    func dropAssignment() {
        rd_kafka_assign(client.ownerHandle, nil)
    }

    /// Whether the partitions being revoked were lost (taken over by another member
    /// without a clean hand-over), in which case nothing may be committed for them.
    var isAssignmentLost: Bool { rd_kafka_assignment_lost(client.ownerHandle) != 0 }

    /// Commits the stored offsets before the partitions are given up. Returns false
    /// when there was nothing to commit.
    func commitStoredBeforeRevoke() throws(KafkaError) -> Bool {
        let err = rd_kafka_commit(client.ownerHandle, nil, 0)
        switch err {
        case RD_KAFKA_RESP_ERR_NO_ERROR: return true
        case RD_KAFKA_RESP_ERR__NO_OFFSET: return false
        default: throw .broker(err, operation: "commit on revoke")
        }
    }

    static func commitResult(
        _ err: rd_kafka_resp_err_t, _ list: UnsafePointer<rd_kafka_topic_partition_list_t>?, operation: String
    ) -> Result<Void, KafkaError> {
        switch err {
        case RD_KAFKA_RESP_ERR_NO_ERROR:
            if let error = TopicPartitionList.firstError(list, operation: operation) { return .failure(error) }
            return .success(())
        case RD_KAFKA_RESP_ERR__NO_OFFSET:
            return .success(())
        default:
            return .failure(.broker(err, operation: operation))
        }
    }
}

/// What one read of the consumer queue brought.
struct RdKafkaRead {
    var messages: [KafkaMessage] = []
    /// Errors delivered in place of messages; the consumer goes on.
    var errors: [KafkaError] = []
    /// A fatal error: the consumer cannot go on.
    var failure: KafkaError?
}

/// The completion of a background commit, carried through librdkafka as the opaque.
private final class CommitCompletion {
    let body: @Sendable (Result<Void, KafkaError>) -> Void

    init(_ body: @escaping @Sendable (Result<Void, KafkaError>) -> Void) {
        self.body = body
    }
}

private func rebalanceCallback(
    _ handle: OpaquePointer?, _ code: rd_kafka_resp_err_t,
    _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    // The poll thread, which is the caller of this callback, holds the callbacks object.
    guard let callbacks = RdKafkaCallbacks.from(opaque) as? RdKafkaConsumerCallbacks else { return }
    let list = TopicPartitionList.partitions(partitions)
    switch code {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS: callbacks.handleRebalance(.assign(list))
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS: callbacks.handleRebalance(.revoke(list))
    default: callbacks.handleRebalance(.failed(.broker(code, operation: "rebalance")))
    }
}

private func commitResultCallback(
    _ handle: OpaquePointer?, _ event: OpaquePointer?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let event else { return }
    defer { rd_kafka_event_destroy(event) }
    guard rd_kafka_event_type(event) == RD_KAFKA_EVENT_OFFSET_COMMIT, let completion = rd_kafka_event_opaque(event)
    else { return }
    Unmanaged<CommitCompletion>.fromOpaque(completion).takeRetainedValue().body(
        RdKafkaConsumer.commitResult(
            rd_kafka_event_error(event), rd_kafka_event_topic_partition_list(event), operation: "commit"))
}
