import Foundation
import Logging

/// The part of a `KafkaConsumer` that its poll thread keeps alive: librdkafka's consumer,
/// the consumer's state machine and the callbacks. All of librdkafka's consumer callbacks
/// (rebalance, errors) run on the poll thread, inside its polls.
///
/// One condition lock guards the state machine; librdkafka is called outside it. Pauses
/// and resumes are decided and made under `flowLock`, so that the caller's and the poll
/// thread's reach librdkafka in the order they were decided.
final class ConsumerCore: RdKafkaConsumerCallbacks, @unchecked Sendable {
    typealias Waiter = CheckedContinuation<[KafkaMessage]?, any Error>

    let configuration: KafkaConsumerConfiguration
    private(set) var rdKafka: RdKafkaConsumer!
    let events: AsyncStream<KafkaConsumerEvent>
    private let eventsContinuation: AsyncStream<KafkaConsumerEvent>.Continuation
    private let revocationHandler: (@Sendable ([KafkaTopicPartition]) -> Void)?

    /// Guards `machine`; the poll thread waits on it for room in the buffer.
    private let condition = NSCondition()
    private var machine: ConsumerStateMachine<Waiter>
    /// Held from deciding a pause or resume until librdkafka has it. Taken before `condition`.
    private let flowLock = NSLock()
    private let closed = Latch()
    /// Guards `lastCommit`, the most recent commit, which the next one waits for.
    private let commitLock = NSLock()
    private var lastCommit: CommitRequest?

    /// How long the poll thread waits for a message, at most, before it looks again (for
    /// room, for a stop request). Waits for room are as long.
    private static let pollWait = Duration.milliseconds(100)

    init(
        configuration: KafkaConsumerConfiguration, logger: Logger,
        revocationHandler: (@Sendable ([KafkaTopicPartition]) -> Void)?
    ) throws(KafkaError) {
        try configuration.validate()
        self.configuration = configuration
        // Well inside max.poll.interval.ms, long enough that a caller that is merely
        // slower than the broker never makes fetching stop and start again.
        machine = ConsumerStateMachine(
            capacity: configuration.maxBufferedMessages, capacityBytes: configuration.maxBufferedBytes,
            pollBatchSize: configuration.pollBatchSize,
            pauseFetchingAfter: min(.seconds(1), configuration.maxPollInterval / 4))
        self.revocationHandler = revocationHandler
        (events, eventsContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1_000))
        super.init(logger: logger)
        rdKafka = try RdKafkaConsumer(properties: configuration.rdKafkaProperties(), callbacks: self)
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
        let reader = MessageReader(capacity: configuration.pollBatchSize)
        var failure: KafkaError?

        loop: while failure == nil {
            flowLock.lock()
            condition.lock()
            let action = machine.nextPollAction(now: .now)
            condition.unlock()
            switch action {
            case .pauseFetching(let partitions):
                changeFlow(pause: partitions, operation: "pause for room")
                flowLock.unlock()
                logger.info(
                    "kafka consumer paused fetching: its caller has not taken messages for a while",
                    metadata: ["buffered": "\(configuration.maxBufferedMessages)"])
            case .resumeFetching(let partitions):
                changeFlow(resume: partitions, operation: "resume after room")
                flowLock.unlock()
                logger.info("kafka consumer resumed fetching")
            case .fetch(let limit):
                flowLock.unlock()
                failure = deliver(rdKafka.read(upTo: limit, wait: Self.pollWait, reader: reader))
            case .serveGroup:
                flowLock.unlock()
                failure = deliver(rdKafka.serveGroup(reader: reader))
                waitForRoom()
            case .waitForRoom:
                flowLock.unlock()
                waitForRoom()
            case .leaveGroup, .none:
                flowLock.unlock()
                break loop
            }
        }
        shutDown(failure: failure)
    }

    /// Waits, briefly, while the buffer is full: a caller that takes messages or a stop
    /// request wakes it at once.
    private func waitForRoom() {
        condition.lock()
        if machine.shouldWaitForRoom { _ = condition.wait(until: Date(timeIntervalSinceNow: 0.1)) }
        condition.unlock()
    }

    /// Pauses or resumes for room. A failure is logged: it means a partition was revoked
    /// meanwhile, and the rebalance settles the rest.
    private func changeFlow(
        pause: [KafkaTopicPartition] = [], resume: [KafkaTopicPartition] = [], operation: String
    ) {
        do throws(KafkaError) {
            try rdKafka.pause(pause)
            try rdKafka.resume(resume)
        } catch {
            logger.warning("kafka consumer could not \(operation)", metadata: ["error": "\(error)"])
        }
    }

    /// Hands what was read to the caller and reports the errors. Returns a fatal error.
    private func deliver(_ read: RdKafkaRead) -> KafkaError? {
        for error in read.errors {
            logger.warning("kafka consumer error", metadata: ["error": "\(error)"])
            eventsContinuation.yield(.error(error))
        }
        if !read.messages.isEmpty {
            condition.lock()
            let action = machine.append(read.messages)
            condition.unlock()
            if case .resume(let waiter, let messages) = action {
                waiter.resume(returning: messages)
            }
        }
        return read.failure
    }

    /// Leaves the group, committing what the caller marked as processed (the revoke
    /// callback does that while it leaves), then frees everything.
    private func shutDown(failure: KafkaError?) {
        if !(failure?.isFatal ?? false), let error = rdKafka.leaveGroup() {
            logger.warning("kafka consumer close failed", metadata: ["error": "\(error)"])
        }
        // Calls from other threads (a revocation handler marking its last work) were
        // still allowed while leaving; from here on they fail as closed.
        rdKafka.destroy()
        settleCommitsAfterDestroy()

        condition.lock()
        let finishAction = machine.finish(failure)
        condition.unlock()
        if case .resume(let waiter, let error) = finishAction {
            if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
        }
        eventsContinuation.finish()
        closed.open()
        logger.debug("kafka consumer closed")
    }

    // MARK: - Rebalance

    override func handleRebalance(_ rebalance: RdKafkaRebalance) {
        switch rebalance {
        case .assign(let partitions):
            logger.info("kafka partitions assigned", metadata: ["partitions": "\(partitions)"])
            flowLock.lock()
            if let error = rdKafka.takeAssignment(partitions) { reportRebalanceError(error) }
            condition.lock()
            let flow = machine.assigned(partitions)
            condition.unlock()
            changeFlow(pause: flow.pause, resume: flow.resume, operation: "set the pause of assigned partitions")
            flowLock.unlock()
            eventsContinuation.yield(.assigned(partitions))

        case .revoke(let partitions):
            let lost = rdKafka.isAssignmentLost
            if lost {
                logger.warning("kafka partitions lost; nothing committed", metadata: ["partitions": "\(partitions)"])
            } else {
                revocationHandler?(partitions)
                commitStoredBeforeRevoke(partitions)
            }
            flowLock.lock()
            condition.lock()
            machine.revoked(partitions)
            condition.signal()
            condition.unlock()
            if let error = rdKafka.giveUp(partitions) { reportRebalanceError(error) }
            flowLock.unlock()
            eventsContinuation.yield(lost ? .lost(partitions) : .revoked(partitions))

        case .failed(let error):
            reportRebalanceError(error)
            flowLock.lock()
            rdKafka.dropAssignment()
            condition.lock()
            machine.unassignedAll()
            condition.unlock()
            flowLock.unlock()
        }
    }

    /// Commits, synchronously and before the partitions are given up, the offsets the
    /// caller stored for them: the next owner starts right after them.
    private func commitStoredBeforeRevoke(_ partitions: [KafkaTopicPartition]) {
        do throws(KafkaError) {
            if try rdKafka.commitStoredBeforeRevoke() {
                logger.info("kafka offsets committed on revoke", metadata: ["partitions": "\(partitions)"])
            } else {
                logger.debug("kafka revoke: nothing to commit", metadata: ["partitions": "\(partitions)"])
            }
        } catch {
            reportRebalanceError(error)
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
                let action = machine.next()
                if case .suspend = action {
                    if Task.isCancelled {
                        condition.unlock()
                        waiter.resume(returning: nil)
                        return
                    }
                    machine.park(waiter)
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
            let waiter = machine.unpark()
            condition.unlock()
            waiter?.resume(returning: nil)
        }
    }

    /// Up to `limit` of the messages buffered now, without waiting.
    func takeBuffered(upTo limit: Int) -> [KafkaMessage] {
        condition.lock()
        let (messages, wake) = machine.take(upTo: limit)
        if wake { condition.signal() }
        condition.unlock()
        return messages
    }

    /// The caller's pause: it lasts until the caller's resume, whatever the consumer does
    /// for room meanwhile.
    func pause(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        flowLock.lock()
        defer { flowLock.unlock() }
        condition.lock()
        let now = machine.pauseRequested(partitions)
        condition.unlock()
        try rdKafka.pause(now)
    }

    func resume(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        flowLock.lock()
        defer { flowLock.unlock() }
        condition.lock()
        let now = machine.resumeRequested(partitions)
        condition.unlock()
        try rdKafka.resume(now)
    }

    /// Asks the poll thread to leave the group and stop. Does not wait.
    func requestStop() {
        condition.lock()
        if machine.requestStop() { condition.broadcast() }
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
                // A caller that gave up has retried or will retry with newer offsets.
                guard request.isAwaited else {
                    request.settled.open()
                    return
                }
                self.rdKafka.commitInBackground(offsets, operation: operation) { request.finish($0) }
            }
        }
        try result.get()
    }

    /// After the handle is destroyed no commit result can arrive: answers the last
    /// commit, if it is still open, so that no caller or queued commit waits forever.
    private func settleCommitsAfterDestroy() {
        commitLock.lock()
        let last = lastCommit
        commitLock.unlock()
        last?.finish(.failure(.closed(operation: "commit")))
    }
}
