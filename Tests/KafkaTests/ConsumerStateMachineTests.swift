import Testing

@testable import Kafka

/// The consumer's lifecycle: fetching while there is room, pausing when the caller has
/// fallen behind for a while (without leaving the group), resuming only what the caller
/// did not pause itself, and leaving on request.
@Suite struct ConsumerStateMachineTests {
    private let p0 = KafkaTopicPartition(topic: "t", partition: 0)
    private let p1 = KafkaTopicPartition(topic: "t", partition: 1)
    private let p2 = KafkaTopicPartition(topic: "t", partition: 2)

    private func machine(capacity: Int = 4, batch: Int = 3) -> Subject {
        Subject(ConsumerStateMachine(capacity: capacity, pollBatchSize: batch, pauseFetchingAfter: .seconds(1)))
    }

    @Test func fetchesNoMoreThanTheRoomLeftAndTheBatchSize() {
        let machine = machine(capacity: 4, batch: 3)
        #expect(machine.poll(at: 0) == .fetch(upTo: 3))
        machine.append(Subject.messages(2))
        #expect(machine.poll(at: 1) == .fetch(upTo: 2))
    }

    @Test func aFullBufferWaitsForRoomBeforeItPausesFetching() {
        let machine = machine()
        machine.assigned([p0, p1])
        machine.append(Subject.messages(4))
        #expect(machine.poll(at: 0) == .waitForRoom)
        #expect(machine.shouldWaitForRoom)
        #expect(machine.poll(at: 999) == .waitForRoom)
        #expect(!machine.isFetchingPausedForRoom)
        #expect(machine.poll(at: 1_000) == .pauseFetching([p0, p1]))
        #expect(machine.isFetchingPausedForRoom)
        // Paused: the thread keeps polling the group instead of sleeping on it.
        #expect(machine.poll(at: 60_000) == .serveGroup)
        #expect(machine.poll(at: 600_000) == .serveGroup)
    }

    @Test func roomBeforeThePauseStartsTheWaitAfresh() {
        let machine = machine()
        machine.assigned([p0])
        machine.append(Subject.messages(4))
        #expect(machine.poll(at: 0) == .waitForRoom)
        machine.take(upTo: 1)
        #expect(machine.poll(at: 900) == .fetch(upTo: 1))
        machine.append(Subject.messages(1))
        #expect(machine.poll(at: 1_100) == .waitForRoom)
        #expect(machine.poll(at: 2_000) == .waitForRoom)
        #expect(machine.poll(at: 2_100) == .pauseFetching([p0]))
    }

    @Test func roomAfterThePauseResumesAllButTheCallersPausesThenFetches() {
        let machine = machine()
        machine.assigned([p0, p1, p2])
        #expect(machine.pauseRequested([p1]) == [p1])
        machine.append(Subject.messages(4))
        _ = machine.poll(at: 0)
        #expect(machine.poll(at: 1_000) == .pauseFetching([p0, p1, p2]))
        machine.take(upTo: 2)
        #expect(machine.poll(at: 1_100) == .resumeFetching([p0, p2]))
        #expect(!machine.isFetchingPausedForRoom)
        #expect(machine.poll(at: 1_101) == .fetch(upTo: 2))
    }

    @Test func aCallersResumeWhilePausedForRoomWaitsForTheRoom() {
        let machine = machine()
        machine.assigned([p0, p1])
        _ = machine.pauseRequested([p0])
        machine.append(Subject.messages(4))
        _ = machine.poll(at: 0)
        _ = machine.poll(at: 1_000)
        #expect(machine.resumeRequested([p0]) == [])
        machine.take(upTo: 4)
        #expect(machine.poll(at: 1_200) == .resumeFetching([p0, p1]))
    }

    @Test func aCallersResumeWhileFetchingIsResumedAtOnce() {
        let machine = machine()
        machine.assigned([p0])
        _ = machine.pauseRequested([p0])
        #expect(machine.resumeRequested([p0]) == [p0])
    }

    @Test func partitionsAssignedWhilePausedForRoomArePausedAtOnce() {
        let machine = machine()
        machine.assigned([p0])
        #expect(machine.assigned([p1]) == "pause [] resume [t[1]]")
        machine.append(Subject.messages(4))
        _ = machine.poll(at: 0)
        _ = machine.poll(at: 1_000)
        #expect(machine.assigned([p2]) == "pause [t[2]] resume []")
        machine.take(upTo: 4)
        #expect(machine.poll(at: 1_500) == .resumeFetching([p0, p1, p2]))
    }

    @Test func partitionsRevokedWhilePausedAndAssignedAgainAreResumed() {
        // librdkafka keeps a partition's pause through its revocation: an assignment says
        // what each partition's pause must be now.
        let machine = machine()
        machine.assigned([p0, p1])
        machine.append(Subject.messages(4))
        _ = machine.poll(at: 0)
        #expect(machine.poll(at: 1_000) == .pauseFetching([p0, p1]))
        machine.revoked([p0, p1])
        #expect(machine.poll(at: 1_001) == .resumeFetching([]))
        #expect(machine.assigned([p0, p1]) == "pause [] resume [t[0], t[1]]")
        #expect(machine.poll(at: 1_002) == .fetch(upTo: 3))
    }

    @Test func aPartitionTheCallerPausedIsResumedWhenAssignedAgain() {
        let machine = machine()
        machine.assigned([p0])
        #expect(machine.pauseRequested([p0]) == [p0])
        machine.revoked([p0])
        #expect(machine.assigned([p0]) == "pause [] resume [t[0]]")
    }

    @Test func aRevocationDropsThePartitionsMessagesAndTheCallersPause() {
        let machine = machine()
        machine.assigned([p0, p1])
        _ = machine.pauseRequested([p1])
        machine.append(Subject.messages(2, partition: 0) + Subject.messages(2, partition: 1))
        machine.revoked([p1])
        #expect(machine.bufferedCount == 2)
        // Assigned again, p1 fetches again: the caller's pause ended with the revocation.
        machine.assigned([p1])
        machine.append(Subject.messages(2, partition: 0))
        _ = machine.poll(at: 0)
        _ = machine.poll(at: 1_000)
        machine.take(upTo: 1)
        #expect(machine.poll(at: 1_100) == .resumeFetching([p0, p1]))
    }

    @Test func aRevocationThatFreesRoomResumesFetching() {
        let machine = machine()
        machine.assigned([p0, p1])
        machine.append(Subject.messages(4, partition: 1))
        _ = machine.poll(at: 0)
        #expect(machine.poll(at: 1_000) == .pauseFetching([p0, p1]))
        machine.revoked([p1])
        #expect(machine.poll(at: 1_001) == .resumeFetching([p0]))
    }

    @Test func droppingTheWholeAssignmentForgetsItsPartitions() {
        let machine = machine()
        machine.assigned([p0, p1])
        machine.unassignedAll()
        machine.append(Subject.messages(4, partition: 2))
        _ = machine.poll(at: 0)
        #expect(machine.poll(at: 1_000) == .pauseFetching([]))
    }

    @Test func aStopRequestLeavesTheGroupOnceWhateverTheBuffer() {
        for paused in [false, true] {
            let machine = machine()
            machine.assigned([p0])
            machine.append(Subject.messages(4))
            _ = machine.poll(at: 0)
            if paused { _ = machine.poll(at: 1_000) }
            #expect(machine.requestStop())
            #expect(!machine.requestStop())
            #expect(!machine.shouldWaitForRoom)
            #expect(machine.poll(at: 1_001) == .leaveGroup)
            #expect(machine.poll(at: 1_002) == .none)
        }
    }

    @Test func finishingEndsTheCallersIterationAfterTheBufferedMessages() {
        let machine = machine()
        machine.append(Subject.messages(2))
        _ = machine.requestStop()
        _ = machine.poll(at: 0)
        guard case .none = machine.finish(nil) else {
            Issue.record("nobody was parked")
            return
        }
        guard case .deliver(let batch, _) = machine.next(), case .finished(nil) = machine.next() else {
            Issue.record("expected the buffered batch, then the end")
            return
        }
        #expect(batch.count == 2)
        #expect(machine.poll(at: 1) == .none)
        #expect(!machine.requestStop())
    }

    @Test func aMessageArrivingWhilePausingIsKeptBeyondTheCapacity() {
        let machine = machine(capacity: 2)
        machine.assigned([p0])
        machine.append(Subject.messages(2))
        _ = machine.poll(at: 0)
        _ = machine.poll(at: 1_000)
        machine.append(Subject.messages(1))
        #expect(machine.bufferedCount == 3)
        #expect(machine.poll(at: 1_100) == .serveGroup)
    }
}

/// The machine under test behind a reference: `#expect` cannot call a mutating method
/// of a local variable.
private final class Subject {
    private var machine: ConsumerStateMachine<Int>
    private let start = ContinuousClock.now

    init(_ machine: ConsumerStateMachine<Int>) {
        self.machine = machine
    }

    static func messages(_ count: Int, partition: Int32 = 0) -> [KafkaMessage] {
        (0..<count).map { KafkaMessage(topic: "t", partition: partition, offset: Int64($0), key: nil, value: nil) }
    }

    /// The next poll action, `milliseconds` after the test began.
    func poll(at milliseconds: Int) -> ConsumerStateMachine<Int>.PollAction {
        machine.nextPollAction(now: start + .milliseconds(milliseconds))
    }

    @discardableResult func append(_ batch: [KafkaMessage]) -> ConsumerBuffer<Int>.AppendAction {
        machine.append(batch)
    }

    /// The partitions to pause and to resume, as "pause [...] resume [...]".
    @discardableResult func assigned(_ partitions: [KafkaTopicPartition]) -> String {
        let flow = machine.assigned(partitions)
        return "pause \(flow.pause) resume \(flow.resume)"
    }
    func revoked(_ partitions: [KafkaTopicPartition]) { machine.revoked(partitions) }
    func unassignedAll() { machine.unassignedAll() }
    func pauseRequested(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition] {
        machine.pauseRequested(partitions)
    }
    func resumeRequested(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition] {
        machine.resumeRequested(partitions)
    }
    func requestStop() -> Bool { machine.requestStop() }
    @discardableResult func take(upTo limit: Int) -> [KafkaMessage] { machine.take(upTo: limit).messages }
    func finish(_ failure: KafkaError?) -> ConsumerBuffer<Int>.FinishAction { machine.finish(failure) }
    func next() -> ConsumerBuffer<Int>.NextAction { machine.next() }
    var shouldWaitForRoom: Bool { machine.shouldWaitForRoom }
    var isFetchingPausedForRoom: Bool { machine.isFetchingPausedForRoom }
    var bufferedCount: Int { machine.bufferedCount }
}

/// The producer's lifecycle.
@Suite struct ProducerStateMachineTests {
    @Test func pollsUntilAskedToStopThenShutsDownOnceWithTheFirstFlushTimeout() {
        var machine = ProducerStateMachine()
        var actions = [machine.nextPollAction(), machine.nextPollAction()]
        machine.requestStop(flushTimeout: .seconds(3))
        machine.requestStop(flushTimeout: .seconds(9))
        actions += [machine.nextPollAction(), machine.nextPollAction()]
        machine.closed()
        machine.requestStop(flushTimeout: .seconds(1))
        actions.append(machine.nextPollAction())
        #expect(actions == [.poll, .poll, .shutDown(flushTimeout: .seconds(3)), .none, .none])
    }
}
