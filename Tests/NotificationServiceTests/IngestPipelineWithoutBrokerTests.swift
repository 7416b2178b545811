import Foundation
import Logging
import ReminderCore
import ReminderStore
import ReminderStoreTesting
import ServiceLifecycleTestKit
import Synchronization
import Testing

@testable import Kafka
@testable import NotificationService

/// The ingest pipeline over in-memory partitions, the in-memory ingest store and a manual
/// clock: no broker, database or real waiting. The behaviours of IngestPipelineTests and
/// DatabaseOutageTests that rest on the pipeline's own logic: a batch is committed only
/// once stored, a failing store pauses its lane and retries the same batch, shutdown
/// finishes what is in hand and leaves the rest uncommitted.
@Suite(.timeLimit(.minutes(6))) struct IngestPipelineWithoutBrokerTests {
    /// Lets each call through to the memory store only once the test releases it, and
    /// tells the test when a call has come: the test looks at the pipeline mid-store.
    final class HeldStore: IngestStoring {
        private struct State {
            var held = true
            var calls = 0
            /// The partitions of each call's messages, in the order the calls came.
            var partitions: [Set<Int32>] = []
            var holding: [CheckedContinuation<Void, Never>] = []
            var watchers: [(calls: Int, continuation: CheckedContinuation<Void, Never>)] = []
        }

        let memory: MemoryIngestStore
        /// The partitions whose calls it holds (nil: every call).
        let heldPartitions: Set<Int32>?
        private let state = Mutex(State())

        init(_ memory: MemoryIngestStore, holding partitions: Set<Int32>? = nil) {
            self.memory = memory
            self.heldPartitions = partitions
        }

        func ingest(_ records: [IngestRecord]) async throws(StoreError) -> IngestSummary {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let (pass, arrived) = state.withLock { state in
                    state.calls += 1
                    let partitions = Set(records.map(\.partition))
                    state.partitions.append(partitions)
                    let calls = state.calls
                    let arrived = state.watchers.filter { $0.calls <= calls }.map(\.continuation)
                    state.watchers.removeAll { $0.calls <= calls }
                    let held = state.held && heldPartitions.map { !$0.isDisjoint(with: partitions) } ?? true
                    if held { state.holding.append(continuation) }
                    return (!held, arrived)
                }
                arrived.forEach { $0.resume() }
                if pass { continuation.resume() }
            }
            return try await memory.ingest(records)
        }

        /// Returns once `count` calls have come.
        func waitForCalls(_ count: Int) async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state in
                    if state.calls >= count { return true }
                    state.watchers.append((count, continuation))
                    return false
                }
                if now { continuation.resume() }
            }
        }

        /// True once `count` calls have come; false when they have not within `limit`.
        func waitForCalls(_ count: Int, within limit: Duration) async -> Bool {
            let deadline = ContinuousClock.now + limit
            while state.withLock({ $0.calls < count }) {
                guard ContinuousClock.now < deadline else { return false }
                try? await Task.sleep(for: .milliseconds(5))
            }
            return true
        }

        /// The partitions of each call's messages, in the order the calls came.
        var partitionsOfCalls: [Set<Int32>] { state.withLock { $0.partitions } }

        /// Lets the calls held and every later one through.
        func release() {
            let holding = state.withLock { state in
                state.held = false
                defer { state.holding = [] }
                return state.holding
            }
            holding.forEach { $0.resume() }
        }
    }

    static let topic = "reminders"
    /// 100 ms doubling, no jitter: the waits are exact.
    static let backoff = ExponentialBackoff(
        initialDelay: .milliseconds(100), multiplier: 2, maximumDelay: .seconds(5), jitter: 0)

    static func partition(_ number: Int32) -> KafkaTopicPartition {
        KafkaTopicPartition(topic: topic, partition: number)
    }

    static func instant(_ duration: Duration) -> ManualClock.Instant {
        ManualClock.Instant(sinceStart: duration)
    }

    static func schedule(key: String, reminder: String = "r-1", title: String = "Dentist") -> [UInt8] {
        Array(
            """
            {"schema_version":1,"type":"schedule","idempotency_key":"\(key)","reminder_id":"\(reminder)",\
            "user_id":"user-1","deliver_at":"2030-01-01T09:00:00Z","channels":[{"type":"email","to":"a@b.co"}],\
            "content":{"title":"\(title)","body":"B"}}
            """.utf8)
    }

    static func cancel(key: String, reminder: String = "r-1") -> [UInt8] {
        Array(
            #"{"schema_version":1,"type":"cancel","idempotency_key":"\#(key)","reminder_id":"\#(reminder)","user_id":"user-1"}"#
                .utf8)
    }

    /// A message as a publisher keys it (by user id); `key: nil` for one without a key.
    struct Published {
        var partition: Int32 = 0
        var value: [UInt8]?
        var key: String? = "user-1"
        var headers: [KafkaHeader] = []
    }

    /// The messages as the topic holds them: each partition's offsets from 0, in order.
    static func messages(_ published: [Published]) -> [KafkaMessage] {
        var next: [Int32: Int64] = [:]
        return published.map { message in
            let offset = next[message.partition, default: 0]
            next[message.partition] = offset + 1
            return KafkaMessage(
                topic: topic, partition: message.partition, offset: offset, key: message.key.map { Array($0.utf8) },
                value: message.value, headers: message.headers)
        }
    }

    /// The test pipeline's commit interval: a tenth of it (the least time between two
    /// commits) is none of the backoff's waits.
    static let commitInterval = Duration.seconds(2)

    static func pipeline(
        _ source: MemoryIngestSource, _ store: any IngestStoring, clock: ManualClock, lanes: Int = 1,
        batchSize: Int = 100
    ) -> IngestPipeline<ManualClock> {
        var logger = Logger(label: "ingest-unit")
        logger.logLevel = .critical
        return IngestPipeline(
            source: source, store: store,
            configuration: IngestPipelineConfiguration(
                topic: topic, batchSize: batchSize, linger: .zero, lanes: lanes, commitInterval: commitInterval,
                retry: backoff, storeTimeout: .seconds(10)),
            logger: logger, clock: clock)
    }

    static func title(_ reminder: MemoryDispatchStore.Reminder?) throws -> String? {
        try reminder.map { try StoredDelivery.content(fromJSON: $0.content).title }
    }

    @Test func aBatchsOffsetsAreMarkedAndCommittedOnlyOnceTheBatchIsStored() async throws {
        let clock = ManualClock()
        let memory = MemoryIngestStore()
        let store = HeldStore(memory)
        let source = MemoryIngestSource(
            Self.messages([
                Published(value: Self.schedule(key: "a", reminder: "r-a")),
                Published(value: Self.schedule(key: "b", reminder: "r-b")),
                Published(partition: 1, value: Self.schedule(key: "c", reminder: "r-c")),
            ]))
        let running = Task { try await Self.pipeline(source, store, clock: clock).run() }
        await store.waitForCalls(1)
        // The commit timer comes round while the batch is being stored: nothing to commit.
        await clock.waitForSleep(until: Self.instant(.milliseconds(200)))
        clock.advance(by: .milliseconds(200))
        await clock.waitForSleep(until: Self.instant(.seconds(2)))
        clock.advance(by: .milliseconds(1_800))
        await clock.waitForSleep(until: Self.instant(.milliseconds(2_200)))
        #expect(source.marked.isEmpty)
        #expect(source.commits.isEmpty)
        store.release()
        // The messages ran out: the pipeline finishes the batch and closes the source.
        try await running.value
        #expect(source.topics == [Self.topic])
        #expect(memory.inboxKeys == ["a", "b", "c"])
        #expect(source.marked == [Self.partition(0): 2, Self.partition(1): 1])
        #expect(source.committed == [Self.partition(0): 2, Self.partition(1): 1])
        #expect(source.isClosed)
    }

    @Test func whileALaneIsStoringTheCommitTimerCommitsWhatOthersStoredAndTheLagCountsTheRest() async throws {
        let clock = ManualClock()
        let memory = MemoryIngestStore()
        // Lane 1 (partition 1) is held mid-store; lane 0 stores partition 0's messages.
        let store = HeldStore(memory, holding: [1])
        let source = MemoryIngestSource(
            Self.messages(
                (0..<3).map { Published(value: Self.schedule(key: "k\($0)", reminder: "r-\($0)")) }
                    + [Published(partition: 1, value: Self.schedule(key: "h", reminder: "r-h"))]),
            ending: .whenClosed)
        let pipeline = Self.pipeline(source, store, clock: clock, lanes: 2)
        let running = Task { try await pipeline.run() }
        await source.waitUntilMarked { $0[Self.partition(0)] == 3 }
        await store.waitForCalls(2)
        #expect(source.committed.isEmpty)
        #expect(await pipeline.lag() == [Self.partition(0): 3, Self.partition(1): 1], "counted from the start")
        // A tenth of the interval after the start, a batch is still being stored: no commit yet.
        await clock.waitForSleep(until: Self.instant(.milliseconds(200)))
        clock.advance(by: .milliseconds(200))
        await clock.waitForSleep(until: Self.instant(.seconds(2)))
        #expect(source.committed.isEmpty)
        clock.advance(by: .milliseconds(1_800))
        await clock.waitForSleep(until: Self.instant(.milliseconds(2_200)))
        #expect(source.committed == [Self.partition(0): 3])
        #expect(await pipeline.lag() == [Self.partition(0): 0, Self.partition(1): 1])
        // The held batch is stored: everything read is, and it is committed a tenth of the
        // interval after the last commit, not a whole one.
        store.release()
        await source.waitUntilMarked { $0[Self.partition(1)] == 1 }
        clock.advance(by: .milliseconds(200))
        await clock.waitForSleep(until: Self.instant(.milliseconds(2_400)))
        #expect(source.committed == [Self.partition(0): 3, Self.partition(1): 1])
        source.requestClose()
        try await running.value
        #expect(source.commits.count == 2, "a commit with nothing new marked commits nothing")
    }

    @Test func onceEverythingReadIsStoredItIsCommittedATenthOfTheIntervalAfterTheLastCommit() async throws {
        let clock = ManualClock()
        let source = MemoryIngestSource(
            Self.messages((0..<3).map { Published(value: Self.schedule(key: "k\($0)", reminder: "r-\($0)")) }),
            ending: .whenClosed)
        let pipeline = Self.pipeline(source, MemoryIngestStore(), clock: clock)
        let running = Task { try await pipeline.run() }
        await source.waitUntilMarked { $0[Self.partition(0)] == 3 }
        await clock.waitForSleep(until: Self.instant(.milliseconds(200)))
        clock.advance(by: .milliseconds(199))
        #expect(source.committed.isEmpty, "no sooner than a tenth of the interval after the last commit")
        clock.advance(by: .milliseconds(1))
        await clock.waitForSleep(until: Self.instant(.milliseconds(400)))
        #expect(source.committed == [Self.partition(0): 3])
        #expect(await pipeline.lag() == [Self.partition(0): 0])
        // Nothing new: the next commit waits for the interval.
        clock.advance(by: .milliseconds(200))
        await clock.waitForSleep(until: Self.instant(.milliseconds(2_200)))
        source.requestClose()
        try await running.value
        #expect(source.commits.count == 1, "a commit with nothing new marked commits nothing")
    }

    @Test func aStoreFailurePausesOnlyItsLanesPartitionsAndTheSameBatchIsStoredAfterTheBackoff() async throws {
        let clock = ManualClock()
        let memory = MemoryIngestStore()
        memory.failNext(1)
        let assignment = (0..<4).map(Self.partition)
        // Partitions 0 and 2 are lane 0's of two; 1 and 3 are lane 1's.
        let source = MemoryIngestSource(
            Self.messages([
                Published(partition: 0, value: Self.schedule(key: "a", reminder: "r-a")),
                Published(partition: 2, value: Self.schedule(key: "b", reminder: "r-b")),
            ]), assignment: assignment)
        let running = Task { try await Self.pipeline(source, memory, clock: clock, lanes: 2).run() }
        await clock.waitForSleep(until: Self.instant(.milliseconds(100)))
        #expect(source.pauses == [[Self.partition(0), Self.partition(2)]])
        #expect(source.paused == [Self.partition(0), Self.partition(2)])
        #expect(source.marked.isEmpty, "nothing is marked for commit before it is stored")
        #expect(memory.inboxKeys.isEmpty)
        clock.advance(by: .milliseconds(100))
        try await running.value
        #expect(memory.calls.count == 2)
        #expect(memory.calls.first == memory.calls.last, "the retry stores the same batch")
        #expect(source.resumes == [[Self.partition(0), Self.partition(2)]])
        #expect(source.paused.isEmpty)
        #expect(memory.inboxKeys == ["a", "b"])
        #expect(source.committed == [Self.partition(0): 1, Self.partition(2): 1])
    }

    @Test func eachFailureWaitsLongerAndNothingIsCommittedUntilTheStoreAnswers() async throws {
        let clock = ManualClock()
        let memory = MemoryIngestStore()
        memory.failNext(2)
        let source = MemoryIngestSource(Self.messages([Published(value: Self.schedule(key: "a"))]))
        let running = Task { try await Self.pipeline(source, memory, clock: clock).run() }
        await clock.waitForSleep(until: Self.instant(.milliseconds(100)))
        clock.advance(by: .milliseconds(100))
        // The second failure waits twice as long; the partition stays paused, once.
        await clock.waitForSleep(until: Self.instant(.milliseconds(300)))
        #expect(memory.calls.count == 2)
        #expect(source.pauses == [[Self.partition(0)]])
        #expect(source.resumes.isEmpty)
        #expect(source.marked.isEmpty)
        clock.advance(by: .milliseconds(199))
        #expect(memory.calls.count == 2, "not tried again before the delay is over")
        clock.advance(by: .milliseconds(1))
        try await running.value
        #expect(memory.calls.count == 3)
        #expect(source.committed == [Self.partition(0): 1])
        #expect(source.resumes == [[Self.partition(0)]])
    }

    @Test func duplicatesConflictsAndInvalidEventsAreDeadLetteredOnceAndConsumptionGoesOn() async throws {
        let clock = ManualClock()
        let memory = MemoryIngestStore()
        let first = Self.schedule(key: "a", reminder: "r-1")
        let source = MemoryIngestSource(
            Self.messages([
                Published(value: first),
                Published(partition: 1, value: first),
                Published(value: Self.schedule(key: "a", reminder: "r-1", title: "Changed")),
                Published(value: Array(#"{"schema_version":1,"type":"schedule","idempotency_key":"k"}"#.utf8)),
                Published(value: Self.schedule(key: "no-key", reminder: "r-3"), key: nil),
                Published(
                    value: Self.schedule(key: "replay"), headers: [KafkaHeader(key: "x-replay-of", value: "nope")]),
                Published(value: nil),
                Published(value: Self.schedule(key: "after", reminder: "r-2")),
            ]))
        try await Self.pipeline(source, memory, clock: clock, lanes: 2).run()
        #expect(memory.inboxKeys.sorted() == ["a", "after"], "the duplicate leaves no trace")
        #expect(try memory.reminders.reminders.map(Self.title) == ["Dentist", "Dentist"])
        let letters = memory.deadLetters.sorted { $0.origin.offset < $1.origin.offset }
        #expect(letters.map(\.origin.partition) == [0, 0, 0, 0, 0])
        #expect(letters.map(\.origin.offset) == [1, 2, 3, 4, 5])
        #expect(letters.map(\.reason) == [.idempotencyConflict] + Array(repeating: .invalidEvent, count: 4))
        #expect(
            letters.map { $0.error.prefix(while: { $0 != ":" }) } == [
                "idempotency_key", "reminder_id", "(message key)", "(header x-replay-of)", "$",
            ])
        #expect(letters.first?.value == Self.schedule(key: "a", reminder: "r-1", title: "Changed"))
        // Everything was read and committed, the bad messages included.
        #expect(source.committed == [Self.partition(0): 7, Self.partition(1): 1])
    }

    @Test func eventsOfOneReminderAcrossBatchesEndAsThePlannerSays() async throws {
        let clock = ManualClock()
        let memory = MemoryIngestStore()
        // One message a batch.
        let source = MemoryIngestSource(
            Self.messages([
                Published(value: Self.schedule(key: "a")),
                Published(value: Self.schedule(key: "b", title: "Moved")),
                Published(value: Self.cancel(key: "c")),
                Published(value: Self.cancel(key: "d")),
            ]), pollSize: 1)
        try await Self.pipeline(source, memory, clock: clock, batchSize: 1).run()
        #expect(memory.calls.count == 4)
        let reminder = try #require(memory.reminders.reminders.first)
        #expect(memory.reminders.reminders.count == 1)
        #expect(reminder.state == .cancelled)
        #expect(try Self.title(reminder) == "Moved")
        #expect(reminder.history.map(\.event) == [.schedule, .replace, .cancel])
        #expect(source.committed == [Self.partition(0): 4])
    }

    @Test func aFreeLaneStoresItsPartitionsWhileTheOtherLaneIsStillStoring() async throws {
        let clock = ManualClock()
        let memory = MemoryIngestStore()
        let store = HeldStore(memory)
        // The read-ahead comes a partition at a time: partition 0's (lane 0's) first.
        let source = MemoryIngestSource(
            Self.messages(
                (0..<300).map { Published(partition: 0, value: Self.schedule(key: "a\($0)", reminder: "r-a\($0)")) }
                    + (0..<100).map {
                        Published(partition: 1, value: Self.schedule(key: "b\($0)", reminder: "r-b\($0)"))
                    }), pollSize: 100)
        let running = Task { try await Self.pipeline(source, store, clock: clock, lanes: 2, batchSize: 100).run() }
        // Lane 0's first batch is held in the store; lane 1's partition comes after two more
        // of lane 0's batches, and lane 1 stores it meanwhile.
        let both = await store.waitForCalls(2, within: .seconds(10))
        #expect(both, "lane 1 waited for lane 0")
        #expect(Set(store.partitionsOfCalls.prefix(2)) == [[0], [1]])
        store.release()
        try await running.value
        #expect(memory.calls.map(\.count).allSatisfy { $0 <= 100 }, "no batch over the batch size")
        #expect(memory.inboxKeys.count == 400)
        #expect(source.committed == [Self.partition(0): 300, Self.partition(1): 100])
    }

    @Test(arguments: [1, 2, 3])
    func eachPartitionIsStoredInOrderByOneLaneInBatchesAndCommittedToItsEnd(lanes: Int) async throws {
        let clock = ManualClock()
        let memory = MemoryIngestStore()
        // Six partitions' messages in uneven runs of one to nine, read five at a time.
        var published: [Published] = []
        for run in 0..<60 {
            let partition = Int32((run * 7 + run / 3) % 6)
            for _ in 0..<(1 + run * 5 % 9) {
                let key = "k\(published.count)"
                published.append(Published(partition: partition, value: Self.schedule(key: key, reminder: "r-\(key)")))
            }
        }
        let messages = Self.messages(published)
        let source = MemoryIngestSource(messages, pollSize: 5)
        try await Self.pipeline(source, memory, clock: clock, lanes: lanes, batchSize: 7).run()
        #expect(memory.calls.allSatisfy { $0.count <= 7 }, "no batch over the batch size")
        #expect(
            memory.calls.allSatisfy { Set($0.map { IngestHandOff.lane(of: $0.partition, lanes: lanes) }).count == 1 },
            "a batch holds one lane's partitions")
        var ends: [KafkaTopicPartition: Int64] = [:]
        for message in messages { ends[message.topicPartition] = message.offset + 1 }
        for (partition, end) in ends {
            let stored = memory.calls.joined().filter { $0.partition == partition.partition }.map(\.offset)
            #expect(stored == Array(0..<end), "partition \(partition.partition) in offset order, once")
        }
        #expect(memory.inboxKeys.count == messages.count)
        #expect(source.committed == ends)
    }

    @Test func aGracefulShutdownFinishesTheBatchInHandAndLeavesTheRestUncommitted() async throws {
        let clock = ManualClock()
        let memory = MemoryIngestStore()
        let store = HeldStore(memory)
        let source = MemoryIngestSource(
            Self.messages((0..<4).map { Published(value: Self.schedule(key: "k\($0)", reminder: "r-\($0)")) }),
            pollSize: 2, ending: .whenClosed)
        try await testGracefulShutdown { trigger in
            let running = Task { try await Self.pipeline(source, store, clock: clock, batchSize: 2).run() }
            await store.waitForCalls(1)
            trigger.triggerGracefulShutdown()
            store.release()
            try await running.value
        }
        #expect(memory.inboxKeys == ["k0", "k1"])
        #expect(memory.calls.count == 1, "the next batch is not started once stopping")
        #expect(source.committed == [Self.partition(0): 2])
        #expect(source.isClosed)
    }

    /// Four messages read at once (an idle lane lets the reader read twice a batch), and a
    /// pipeline of one lane storing batches of two into a store that holds every call until
    /// released: the lane takes two, and while it stores them it takes the other two ahead.
    static func fourReadAtOnce(ending: MemoryIngestSource.Ending) -> (
        pipeline: IngestPipeline<ManualClock>, store: HeldStore, memory: MemoryIngestStore, source: MemoryIngestSource
    ) {
        let memory = MemoryIngestStore()
        let store = HeldStore(memory)
        let source = MemoryIngestSource(
            Self.messages((0..<4).map { Published(value: Self.schedule(key: "k\($0)", reminder: "r-\($0)")) }),
            pollSize: 4, ending: ending)
        return (Self.pipeline(source, store, clock: ManualClock(), batchSize: 2), store, memory, source)
    }

    @Test func aLaneStoresTheBatchItTookAheadRightAfterTheOneItWasStoring() async throws {
        let (pipeline, store, memory, source) = Self.fourReadAtOnce(ending: .whenDrained)
        let running = Task { try await pipeline.run() }
        await store.waitForCalls(1)
        await IngestHandOffTests.eventually { pipeline.state.takenAhead == 2 }
        #expect(pipeline.state.takenAhead == 2, "taken while the first batch is stored")
        #expect(source.marked.isEmpty)
        store.release()
        try await running.value
        #expect(memory.calls.map { $0.map(\.offset) } == [[0, 1], [2, 3]])
        #expect(memory.inboxKeys == ["k0", "k1", "k2", "k3"])
        #expect(source.committed == [Self.partition(0): 4])
    }

    @Test func aBatchTakenAheadIsNeitherStoredNorCommittedWhenShutdownComesFirst() async throws {
        let (pipeline, store, memory, source) = Self.fourReadAtOnce(ending: .whenClosed)
        try await testGracefulShutdown { trigger in
            let running = Task { try await pipeline.run() }
            await store.waitForCalls(1)
            await IngestHandOffTests.eventually { pipeline.state.takenAhead == 2 }
            #expect(pipeline.state.takenAhead == 2)
            trigger.triggerGracefulShutdown()
            store.release()
            try await running.value
        }
        #expect(memory.calls.count == 1, "the batch taken ahead is not started once stopping")
        #expect(memory.inboxKeys == ["k0", "k1"])
        #expect(source.committed == [Self.partition(0): 2])
        #expect(source.isClosed)
    }

    @Test func aBatchStillFailingAtShutdownIsLeftUncommittedForTheNextOwner() async throws {
        let clock = ManualClock()
        let memory = MemoryIngestStore()
        memory.failNext(10)
        let source = MemoryIngestSource(
            Self.messages([Published(value: Self.schedule(key: "a"))]), ending: .whenClosed)
        try await testGracefulShutdown { trigger in
            let running = Task { try await Self.pipeline(source, memory, clock: clock).run() }
            await clock.waitForSleep(until: Self.instant(.milliseconds(100)))
            trigger.triggerGracefulShutdown()
            clock.advance(by: .milliseconds(100))
            try await running.value
        }
        #expect(memory.calls.count == 1, "not tried again once stopping")
        #expect(memory.inboxKeys.isEmpty)
        #expect(source.marked.isEmpty)
        #expect(source.committed.isEmpty)
        #expect(source.isClosed)
    }
}
