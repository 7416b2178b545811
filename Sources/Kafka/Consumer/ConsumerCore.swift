import CRdKafka
import Foundation
import Logging

/// The part of a `KafkaConsumer` that its poll thread keeps alive: the handle, the
/// read-ahead buffer and librdkafka's callbacks. All of librdkafka's consumer
/// callbacks (rebalance, errors) run on the poll thread, inside its poll calls.
final class ConsumerCore: RdKafkaCallbacks, @unchecked Sendable {
    typealias Waiter = CheckedContinuation<[KafkaMessage]?, any Error>

    let configuration: KafkaConsumerConfiguration
    private(set) var client: RdKafkaClient!
    /// The consumer queue (`rd_kafka_queue_get_consumer`), owned here, destroyed on close.
    private var consumerQueue: OpaquePointer!
    /// librdkafka's background queue, where commit results arrive as events.
    private var backgroundQueue: OpaquePointer!
    let events: AsyncStream<KafkaConsumerEvent>
    private let eventsContinuation: AsyncStream<KafkaConsumerEvent>.Continuation
    private let revocationHandler: (@Sendable ([KafkaTopicPartition]) -> Void)?

    /// Guards `buffer` and `stopRequested`; the poll thread waits on it
    /// for room in the buffer.
    private let condition = NSCondition()
    private var buffer: ConsumerBuffer<Waiter>
    private var stopRequested = false
    private let closed = Latch()
    /// Guards `lastCommit`, the most recent commit, which the next one waits for.
    private let commitLock = NSLock()
    private var lastCommit: CommitRequest?

    init(
        configuration: KafkaConsumerConfiguration, logger: Logger,
        revocationHandler: (@Sendable ([KafkaTopicPartition]) -> Void)?
    ) throws(KafkaError) {
        try configuration.validate()
        self.configuration = configuration
        self.buffer = ConsumerBuffer(capacity: configuration.maxBufferedMessages)
        self.revocationHandler = revocationHandler
        (events, eventsContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1_000))
        super.init(logger: logger)
        client = try RdKafkaClient(
            kind: RD_KAFKA_CONSUMER, properties: configuration.rdKafkaProperties(), callbacks: self
        ) { conf in
            rd_kafka_conf_set_rebalance_cb(conf, consumerRebalanceCallback)
            rd_kafka_conf_set_background_event_cb(conf, consumerBackgroundEventCallback)
        }
        let handle = client.ownerHandle
        // Route everything (messages, rebalances, errors) to the consumer queue, which
        // only the poll thread serves.
        rd_kafka_poll_set_consumer(handle)
        consumerQueue = rd_kafka_queue_get_consumer(handle)
        backgroundQueue = rd_kafka_queue_get_background(handle)
    }

    // MARK: - Poll thread

    func startPollThread() {
        // The thread keeps `self` alive until the handle is destroyed, which ends all
        // callbacks that reach `self` through the handle's opaque pointer.
        let thread = Thread { [self] in self.runPollLoop() }
        thread.name = "kafka-consumer"
        thread.start()
    }

    private func runPollLoop() {
        let handle = client.ownerHandle
        let capacity = configuration.pollBatchSize
        let messages = UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>.allocate(capacity: capacity)
        defer { messages.deallocate() }
        var reader = MessageReader()
        var failure: KafkaError?

        while failure == nil {
            condition.lock()
            while !stopRequested && buffer.room == 0 {
                _ = condition.wait(until: Date(timeIntervalSinceNow: 0.1))
            }
            let stop = stopRequested
            let room = min(buffer.room, capacity)
            condition.unlock()
            if stop { break }

            // Take what is there without waiting; when nothing is, wait up to 100 ms for
            // one message, so that the thread notices a stop request promptly.
            var count = rd_kafka_consume_batch_queue(consumerQueue, 0, messages, room)
            if count == 0, let message = rd_kafka_consumer_poll(handle, 100) {
                messages[0] = message
                count = 1
            }
            guard count > 0 else {
                if count < 0 { failure = .broker(rd_kafka_last_error(), operation: "consume") }
                continue
            }
            var batch: [KafkaMessage] = []
            batch.reserveCapacity(count)
            for index in 0..<count {
                let message = messages[index]!
                defer { rd_kafka_message_destroy(message) }
                if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    batch.append(reader.read(message))
                } else {
                    failure = handleMessageError(message)
                }
            }
            deliver(batch)
        }
        shutDown(failure: failure)
    }

    private func deliver(_ batch: [KafkaMessage]) {
        condition.lock()
        let action = buffer.append(batch)
        condition.unlock()
        if case .resume(let waiter, let messages) = action {
            waiter.resume(returning: messages)
        }
    }

    /// An error delivered in place of a message. Returns an error when it is fatal.
    private func handleMessageError(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaError? {
        let code = message.pointee.err
        if let fatal = client.fatalError(operation: "consume") {
            return fatal
        }
        let text = rd_kafka_message_errstr(message).map { String(cString: $0) }
        var operation = "consume"
        if let topic = message.pointee.rkt {
            operation += " from \(String(cString: rd_kafka_topic_name(topic)))[\(message.pointee.partition)]"
        }
        let error = KafkaError.broker(code, operation: operation, message: text)
        logger.warning("kafka consumer error", metadata: ["error": "\(error)"])
        eventsContinuation.yield(.error(error))
        return nil
    }

    /// Leaves the group, committing what the caller marked as processed (the revoke
    /// callback does that inside `rd_kafka_consumer_close`), then frees everything.
    private func shutDown(failure: KafkaError?) {
        let handle = client.ownerHandle
        if !(failure?.isFatal ?? false) {
            // Serves the final revoke on this thread, whose callback commits.
            let err = rd_kafka_consumer_close(handle)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                logger.warning(
                    "kafka consumer close failed", metadata: ["error": "\(KafkaError.broker(err, operation: "close"))"])
            }
        }
        // Calls from other threads (a revocation handler marking its last work) were
        // still allowed during the close; from here on they fail as closed.
        client.markClosed()
        rd_kafka_queue_destroy(consumerQueue)
        rd_kafka_queue_destroy(backgroundQueue)
        client.destroy()
        settleCommitsAfterDestroy()

        condition.lock()
        let finishAction = buffer.finish(failure)
        condition.unlock()
        if case .resume(let waiter, let error) = finishAction {
            if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
        }
        eventsContinuation.finish()
        closed.open()
        logger.debug("kafka consumer closed")
    }

    // MARK: - Rebalance

    func handleRebalance(
        _ handle: OpaquePointer, _ code: rd_kafka_resp_err_t,
        _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
    ) {
        let list = TopicPartitionList.partitions(partitions)
        let cooperative = String(cString: rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE"
        switch code {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            logger.info("kafka partitions assigned", metadata: ["partitions": "\(list)"])
            if cooperative {
                if let error = rd_kafka_incremental_assign(handle, partitions) {
                    reportRebalanceError(KafkaError.consuming(error, operation: "assign"))
                }
            } else {
                let err = rd_kafka_assign(handle, partitions)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR { reportRebalanceError(.broker(err, operation: "assign")) }
            }
            eventsContinuation.yield(.assigned(list))

        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let lost = rd_kafka_assignment_lost(handle) != 0
            if lost {
                logger.warning("kafka partitions lost; nothing committed", metadata: ["partitions": "\(list)"])
            } else {
                revocationHandler?(list)
                commitStoredBeforeRevoke(handle, partitions: list)
            }
            condition.lock()
            buffer.removeMessages(of: Set(list))
            condition.unlock()
            if cooperative {
                if let error = rd_kafka_incremental_unassign(handle, partitions) {
                    reportRebalanceError(KafkaError.consuming(error, operation: "unassign"))
                }
            } else {
                rd_kafka_assign(handle, nil)
            }
            eventsContinuation.yield(lost ? .lost(list) : .revoked(list))

        default:
            reportRebalanceError(.broker(code, operation: "rebalance"))
            rd_kafka_assign(handle, nil)
        }
    }

    /// Commits, synchronously and before the partitions are given up, the offsets the
    /// caller stored for them: the next owner starts right after them.
    private func commitStoredBeforeRevoke(_ handle: OpaquePointer, partitions: [KafkaTopicPartition]) {
        let err = rd_kafka_commit(handle, nil, 0)
        switch err {
        case RD_KAFKA_RESP_ERR_NO_ERROR:
            logger.info("kafka offsets committed on revoke", metadata: ["partitions": "\(partitions)"])
        case RD_KAFKA_RESP_ERR__NO_OFFSET:
            logger.debug("kafka revoke: nothing to commit", metadata: ["partitions": "\(partitions)"])
        default:
            reportRebalanceError(.broker(err, operation: "commit on revoke"))
        }
    }

    private func reportRebalanceError(_ error: KafkaError) {
        logger.error("kafka rebalance error", metadata: ["error": "\(error)"])
        eventsContinuation.yield(.error(error))
    }

    override func handleError(_ error: KafkaError) {
        super.handleError(error)
        eventsContinuation.yield(.error(error))
    }

    // MARK: - Caller side

    /// The next batch, or nil at the end. Parks the caller while nothing is buffered.
    func nextBatch() async throws -> [KafkaMessage]? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (waiter: Waiter) in
                condition.lock()
                let action = buffer.next()
                if case .suspend = action {
                    if Task.isCancelled {
                        condition.unlock()
                        waiter.resume(returning: nil)
                        return
                    }
                    buffer.park(waiter)
                } else if case .deliver(_, wakePoller: true) = action {
                    condition.signal()
                }
                condition.unlock()
                switch action {
                case .deliver(let batch, _): waiter.resume(returning: batch)
                case .finished(let error?): waiter.resume(throwing: error)
                case .finished(nil): waiter.resume(returning: nil)
                case .suspend: break
                }
            }
        } onCancel: {
            condition.lock()
            let waiter = buffer.unpark()
            condition.unlock()
            waiter?.resume(returning: nil)
        }
    }

    /// Up to `limit` of the messages buffered now, without waiting.
    func takeBuffered(upTo limit: Int) -> [KafkaMessage] {
        condition.lock()
        let (messages, wake) = buffer.take(upTo: limit)
        if wake { condition.signal() }
        condition.unlock()
        return messages
    }

    /// Asks the poll thread to leave the group and stop. Does not wait.
    func requestStop() {
        condition.lock()
        stopRequested = true
        condition.broadcast()
        condition.unlock()
    }

    /// Stops and waits until the group is left and the handle destroyed.
    func close() async {
        requestStop()
        await closed.wait()
    }

    /// Commits asynchronously through librdkafka's background queue. `offsets` nil
    /// commits the offsets stored for the current assignment. librdkafka holds a commit
    /// until the group coordinator is reachable, however long that takes: past `timeout`
    /// the caller gets a retriable `_TIMED_OUT`. Commits reach librdkafka one at a time,
    /// in call order, so one that was given up on never overwrites a newer one.
    func commit(_ offsets: [KafkaTopicPartitionOffset]?, timeout: Duration) async throws(KafkaError) {
        let operation = offsets == nil ? "commit stored offsets" : "commit"
        let result: Result<Void, KafkaError> = await withCheckedContinuation { waiter in
            let request = CommitRequest(waiter, timeout: timeout, operation: operation)
            commitLock.lock()
            let previous = lastCommit
            lastCommit = request
            commitLock.unlock()
            Task {
                await previous?.settled.wait()
                self.send(request, offsets: offsets, operation: operation)
            }
        }
        try result.get()
    }

    private func send(_ request: CommitRequest, offsets: [KafkaTopicPartitionOffset]?, operation: String) {
        // A caller that gave up has retried or will retry with newer offsets.
        guard request.isAwaited else {
            request.settled.open()
            return
        }
        // Retained for librdkafka; released by the background event callback that
        // delivers the result, or below when librdkafka refuses the request at once.
        let opaque = Unmanaged.passRetained(request).toOpaque()
        let list = offsets.map { TopicPartitionList.make($0) }
        defer { list.map { rd_kafka_topic_partition_list_destroy($0) } }
        let result: Result<Void, KafkaError>
        do throws(KafkaError) {
            let err = try client.withHandle(operation) { handle in
                rd_kafka_commit_queue(handle, list, backgroundQueue, nil, opaque)
            }
            guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return }
            result = Self.commitResult(err, nil, operation: operation)
        } catch {
            result = .failure(error)
        }
        Unmanaged<CommitRequest>.fromOpaque(opaque).release()
        request.finish(result)
    }

    /// After the handle is destroyed no commit result can arrive: answers the last
    /// commit, if it is still open, so that no caller or queued commit waits forever.
    private func settleCommitsAfterDestroy() {
        commitLock.lock()
        let last = lastCommit
        commitLock.unlock()
        last?.finish(.failure(.closed(operation: "commit")))
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

private func consumerRebalanceCallback(
    _ handle: OpaquePointer?, _ code: rd_kafka_resp_err_t,
    _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let handle, let opaque else { return }
    // The poll thread, which is the caller of this callback, holds the core.
    Unmanaged<ConsumerCore>.fromOpaque(opaque).takeUnretainedValue().handleRebalance(handle, code, partitions)
}

private func consumerBackgroundEventCallback(
    _ handle: OpaquePointer?, _ event: OpaquePointer?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let event else { return }
    defer { rd_kafka_event_destroy(event) }
    guard rd_kafka_event_type(event) == RD_KAFKA_EVENT_OFFSET_COMMIT, let requestPointer = rd_kafka_event_opaque(event)
    else { return }
    let request = Unmanaged<CommitRequest>.fromOpaque(requestPointer).takeRetainedValue()
    request.finish(
        ConsumerCore.commitResult(
            rd_kafka_event_error(event), rd_kafka_event_topic_partition_list(event), operation: "commit"))
}
