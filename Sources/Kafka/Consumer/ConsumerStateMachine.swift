/// A consumer's life as a state machine without I/O: the messages read ahead of the
/// caller, the partitions assigned, which of them the caller paused, whether fetching is
/// paused because the caller fell behind, and whether the member is leaving the group.
///
/// The poll thread and the callers hold one lock around it, ask it what to do, and make
/// librdkafka's calls themselves. It decides the one subtle thing: a member whose caller
/// stops taking messages must keep polling (librdkafka leaves the group of a member that
/// has not polled for `max.poll.interval.ms`, and its partitions are then read again by
/// someone else), yet must not keep fetching. So once the buffer has been full for
/// `pauseFetchingAfter`, every assigned partition is paused and the thread goes on
/// serving the group without taking messages; when there is room again, the partitions
/// the caller did not pause itself are resumed, and librdkafka fetches from the position
/// after the last message it handed out.
///
/// Generic over the waiting iterator's continuation so that it can be tested without one.
struct ConsumerStateMachine<Waiter> {
    /// What the poll thread does next.
    enum PollAction: Equatable {
        /// Take up to this many messages (waiting briefly when there are none).
        case fetch(upTo: Int)
        /// The buffer is full: wait (briefly) for the caller to take messages.
        case waitForRoom
        /// The buffer has been full too long: pause fetching these partitions.
        case pauseFetching([KafkaTopicPartition])
        /// Fetching is paused for room: poll without waiting, which serves rebalances and
        /// keeps the membership, then wait (briefly) for room.
        case serveGroup
        /// There is room again: resume fetching these partitions.
        case resumeFetching([KafkaTopicPartition])
        /// Stop was requested: leave the group, committing what was marked.
        case leaveGroup
        /// The consumer is closed; the poll thread has ended.
        case none
    }

    private enum Lifecycle {
        case consuming
        case stopRequested
        case leaving
        case closed
    }

    private var lifecycle = Lifecycle.consuming
    private var buffer: ConsumerBuffer<Waiter>
    private let pollBatchSize: Int
    private let pauseFetchingAfter: Duration
    private var assignment: Set<KafkaTopicPartition> = []
    private var pausedByCaller: Set<KafkaTopicPartition> = []
    private var fetchingPausedForRoom = false
    private var fullSince: ContinuousClock.Instant?

    init(capacity: Int, capacityBytes: Int = .max, pollBatchSize: Int, pauseFetchingAfter: Duration) {
        buffer = ConsumerBuffer(capacity: capacity, capacityBytes: capacityBytes)
        self.pollBatchSize = pollBatchSize
        self.pauseFetchingAfter = pauseFetchingAfter
    }

    /// The messages held for the caller.
    var bufferedCount: Int { buffer.count }

    /// Whether fetching is paused because the caller fell behind.
    var isFetchingPausedForRoom: Bool { fetchingPausedForRoom }

    // MARK: - Poll thread

    mutating func nextPollAction(now: ContinuousClock.Instant) -> PollAction {
        switch lifecycle {
        case .leaving, .closed:
            return .none
        case .stopRequested:
            lifecycle = .leaving
            return .leaveGroup
        case .consuming:
            break
        }
        let room = buffer.room
        if room > 0 {
            fullSince = nil
            if fetchingPausedForRoom {
                fetchingPausedForRoom = false
                return .resumeFetching(assignment.subtracting(pausedByCaller).sorted())
            }
            return .fetch(upTo: min(room, pollBatchSize))
        }
        if fetchingPausedForRoom { return .serveGroup }
        guard let since = fullSince else {
            fullSince = now
            return .waitForRoom
        }
        guard now - since >= pauseFetchingAfter else { return .waitForRoom }
        fetchingPausedForRoom = true
        return .pauseFetching(assignment.sorted())
    }

    /// Whether the poll thread should wait for the caller: the buffer is full and nothing
    /// else is to be done.
    var shouldWaitForRoom: Bool { lifecycle == .consuming && buffer.room == 0 }

    /// Messages fetched. Kept even beyond the capacity (a message may still arrive in
    /// the poll that pauses fetching): dropping one would lose it.
    mutating func append(_ batch: [KafkaMessage]) -> ConsumerBuffer<Waiter>.AppendAction {
        buffer.append(batch)
    }

    /// The member's leaving is done (or it failed): ends the caller's iteration.
    mutating func finish(_ failure: KafkaError?) -> ConsumerBuffer<Waiter>.FinishAction {
        lifecycle = .closed
        assignment = []
        pausedByCaller = []
        return buffer.finish(failure)
    }

    // MARK: - Rebalances (on the poll thread)

    /// Partitions were assigned. Returns which of them to pause and which to resume, so
    /// that librdkafka's pause of each matches this machine: librdkafka keeps a
    /// partition's pause through its revocation, so one paused (by the caller or for room)
    /// when it was revoked would otherwise stay paused when assigned again. While fetching
    /// is paused for room, new partitions are paused too.
    mutating func assigned(_ partitions: [KafkaTopicPartition]) -> (
        pause: [KafkaTopicPartition], resume: [KafkaTopicPartition]
    ) {
        assignment.formUnion(partitions)
        return fetchingPausedForRoom ? (partitions, []) : ([], partitions)
    }

    /// Partitions were revoked or lost: their buffered messages are dropped (the next
    /// owner reads them again from the committed offset), and so are the caller's pauses
    /// of them (a partition assigned again starts fetching: see `assigned(_:)`).
    mutating func revoked(_ partitions: [KafkaTopicPartition]) {
        let revoked = Set(partitions)
        assignment.subtract(revoked)
        pausedByCaller.subtract(revoked)
        buffer.removeMessages(of: revoked)
    }

    /// The whole assignment was dropped (after a failed rebalance).
    mutating func unassignedAll() {
        revoked(Array(assignment))
    }

    // MARK: - Caller side

    /// The caller pauses these partitions: returns those to pause now.
    mutating func pauseRequested(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition] {
        pausedByCaller.formUnion(partitions)
        return partitions
    }

    /// The caller resumes these partitions: returns those to resume now, none while
    /// fetching is paused for room (they resume with the rest when there is room).
    mutating func resumeRequested(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition] {
        pausedByCaller.subtract(partitions)
        return fetchingPausedForRoom ? [] : partitions
    }

    /// Asks the member to leave the group. True the first time.
    mutating func requestStop() -> Bool {
        guard lifecycle == .consuming else { return false }
        lifecycle = .stopRequested
        return true
    }

    mutating func next() -> ConsumerBuffer<Waiter>.NextAction { buffer.next() }

    mutating func take(upTo limit: Int) -> (messages: [KafkaMessage], wakePoller: Bool) { buffer.take(upTo: limit) }

    mutating func park(_ waiter: Waiter) { buffer.park(waiter) }

    mutating func unpark() -> Waiter? { buffer.unpark() }
}
