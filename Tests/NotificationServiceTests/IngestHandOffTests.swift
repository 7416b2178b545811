import Synchronization
import Testing

@testable import Kafka
@testable import NotificationService

/// The hand-over between ingest's reader and its lanes: each lane takes up to a batch of
/// its own partitions' messages in the order read, the reader reads on while a lane is
/// idle (within bounds), and a stop ends every wait and drops what is queued.
@Suite(.timeLimit(.minutes(1))) struct IngestHandOffTests {
    static func message(_ partition: Int32, _ offset: Int64) -> KafkaMessage {
        KafkaMessage(topic: "reminders", partition: partition, offset: offset, key: nil, value: [1], headers: [])
    }

    static func origins(_ batch: [KafkaMessage]?) -> [String]? {
        batch?.map { "\($0.partition):\($0.offset)" }
    }

    final class Flag: Sendable {
        let raised = Mutex(false)
    }

    /// The task's value, or nil when it took longer than `limit` (it is then cancelled, which
    /// ends a wait of the hand-off).
    static func settled<T: Sendable>(_ task: Task<T, Never>, within limit: Duration = .seconds(10)) async -> T? {
        let timedOut = Flag()
        let timer = Task {
            try? await Task.sleep(for: limit)
            guard !Task.isCancelled else { return }
            timedOut.raised.withLock { $0 = true }
            task.cancel()
        }
        let value = await task.value
        timer.cancel()
        return timedOut.raised.withLock { $0 } ? nil : value
    }

    /// A lane's wait that ended without a batch (not one that timed out).
    static func endedEmpty(_ wait: [KafkaMessage]??) -> Bool {
        if case .some(.none) = wait { true } else { false }
    }

    /// Returns once `condition` holds, or after `limit`.
    static func eventually(within limit: Duration = .seconds(10), _ condition: () -> Bool) async {
        let deadline = ContinuousClock.now + limit
        while !condition() && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(5)) }
    }

    @Test func aLaneTakesUpToABatchOfItsOwnPartitionsInTheOrderRead() async {
        let handOff = IngestHandOff(lanes: 2, batchSize: 3)
        // Partitions 0 and 2 are lane 0's, 1 is lane 1's.
        let read = [(0, 0), (1, 0), (2, 0), (0, 1), (0, 2), (1, 1), (2, 1), (0, 3), (0, 4)].map {
            Self.message(Int32($0.0), Int64($0.1))
        }
        #expect(handOff.add(read))
        #expect(handOff.queued == 9)
        #expect(Self.origins(await handOff.next(for: 0)) == ["0:0", "2:0", "0:1"])
        #expect(Self.origins(await handOff.next(for: 1)) == ["1:0", "1:1"])
        handOff.finish()
        #expect(Self.origins(await handOff.next(for: 0)) == ["0:2", "2:1", "0:3"])
        #expect(Self.origins(await handOff.next(for: 0)) == ["0:4"])
        #expect(await handOff.next(for: 0) == nil, "finished and drained")
        #expect(await handOff.next(for: 1) == nil)
        #expect(handOff.queued == 0)
    }

    @Test func anIdleLaneIsHandedItsBatchAsSoonAsItIsRead() async {
        let handOff = IngestHandOff(lanes: 2, batchSize: 2)
        let lane = Task { await handOff.next(for: 1) }
        await Self.eventually { handOff.idleLanes == 1 }
        #expect(handOff.add([Self.message(0, 0), Self.message(1, 0), Self.message(1, 1), Self.message(1, 2)]))
        #expect(Self.origins(await Self.settled(lane) ?? nil) == ["1:0", "1:1"])
        #expect(handOff.queued == 2, "lane 0's message and lane 1's third")
    }

    @Test func theReaderReadsOnWhileALaneIsIdleUpToTwiceABatchForEachLane() async {
        let handOff = IngestHandOff(lanes: 2, batchSize: 2)
        #expect(handOff.hasRoom)
        #expect(handOff.add((0..<4).map { Self.message(0, $0) }))
        #expect(!handOff.hasRoom, "a batch for each lane is queued and no lane is idle")
        let reader = Task { await handOff.readyForMore() }
        await Self.eventually { handOff.readerWaits }
        // Lane 1 has nothing queued: the reader reads on to find its partitions.
        let lane = Task { await handOff.next(for: 1) }
        #expect(await Self.settled(reader) == true)
        #expect(handOff.idleLanes == 1)
        #expect(handOff.add((4..<8).map { Self.message(0, $0) }))
        #expect(!handOff.hasRoom, "twice a batch for each lane is queued")
        let again = Task { await handOff.readyForMore() }
        await Self.eventually { handOff.readerWaits }
        #expect(Self.origins(await handOff.next(for: 0)) == ["0:0", "0:1"])
        #expect(await Self.settled(again) == true, "lane 1 is still idle and six are queued")
        #expect(handOff.add([Self.message(1, 0)]))
        #expect(Self.origins(await Self.settled(lane) ?? nil) == ["1:0"])
        #expect(!handOff.hasRoom, "six queued and no lane idle")
    }

    /// The reader reads what the queue has room for: what is left of a batch for each
    /// lane, or of twice that while a lane is idle.
    @Test func theRoomIsWhatIsLeftOfABatchForEachLaneOrOfTwiceThatWithALaneIdle() async {
        let handOff = IngestHandOff(lanes: 2, batchSize: 3)
        #expect(handOff.room == 6)
        #expect(handOff.add((0..<4).map { Self.message(0, $0) }))
        #expect(handOff.room == 2)
        let lane = Task { await handOff.next(for: 1) }
        await Self.eventually { handOff.idleLanes == 1 }
        #expect(handOff.room == 8, "lane 1 idle: twice 6, less 4")
        #expect(handOff.add((4..<8).map { Self.message(0, $0) }))
        #expect(handOff.room == 4)
        #expect(handOff.add((8..<13).map { Self.message(0, $0) }))
        #expect(handOff.room == 0, "13 queued: more than twice a batch for each lane")
        #expect(!handOff.hasRoom)
        #expect(Self.origins(await handOff.next(for: 0)) == ["0:0", "0:1", "0:2"])
        #expect(handOff.room == 2, "10 queued, lane 1 still idle")
        handOff.finish()
        #expect(Self.endedEmpty(await Self.settled(lane)))
    }

    static func large(_ partition: Int32, _ offset: Int64, bytes: Int) -> KafkaMessage {
        KafkaMessage(
            topic: "reminders", partition: partition, offset: offset, key: nil,
            value: [UInt8](repeating: 1, count: bytes), headers: [])
    }

    /// Large messages: a batch stops at its byte bound before its count, a message larger
    /// than the bound is a batch alone, and the queue's room is bounded in bytes too.
    @Test func batchesAndTheQueueAreBoundedInBytesAsWellAsInMessages() async {
        let handOff = IngestHandOff(lanes: 2, batchSize: 10, batchBytes: 1_000)
        #expect(handOff.capacityBytes == 2_000)
        #expect(
            handOff.add(
                [400, 400, 400, 1_500, 100].enumerated().map { Self.large(0, Int64($0.offset), bytes: $0.element) }))
        #expect(handOff.queued == 5, "5 of 20 messages")
        #expect(handOff.queuedBytes == 2_800)
        #expect(!handOff.hasRoom, "2,800 of 2,000 bytes queued and no lane idle")
        #expect(Self.origins(await handOff.next(for: 0)) == ["0:0", "0:1"], "800 bytes: a third would pass 1,000")
        #expect(handOff.queuedBytes == 2_000)
        #expect(!handOff.hasRoom)
        #expect(Self.origins(await handOff.next(for: 0)) == ["0:2"], "the next is larger than the rest of the bound")
        #expect(handOff.hasRoom, "1,600 bytes queued")
        #expect(Self.origins(await handOff.next(for: 0)) == ["0:3"], "larger than a batch: a batch alone")
        #expect(Self.origins(await handOff.next(for: 0)) == ["0:4"])
        #expect(handOff.queuedBytes == 0)
        // An idle lane lets the reader read on to twice the bytes, as for messages.
        #expect(handOff.add((0..<5).map { Self.large(0, Int64(5 + $0), bytes: 500) }))
        #expect(!handOff.hasRoom)
        let lane = Task { await handOff.next(for: 1) }
        await Self.eventually { handOff.idleLanes == 1 }
        #expect(handOff.hasRoom, "2,500 of twice 2,000 bytes with lane 1 idle")
        #expect(handOff.add((0..<4).map { Self.large(0, Int64(10 + $0), bytes: 500) }))
        #expect(!handOff.hasRoom, "4,500 bytes")
        handOff.finish()
        #expect(Self.endedEmpty(await Self.settled(lane)))
    }

    @Test func aStopEndsEveryWaitAndDropsWhatIsQueued() async {
        let handOff = IngestHandOff(lanes: 2, batchSize: 1)
        #expect(handOff.add((0..<2).map { Self.message(0, $0) }))
        let lane = Task { await handOff.next(for: 1) }
        await Self.eventually { handOff.idleLanes == 1 }
        #expect(handOff.add((2..<4).map { Self.message(0, $0) }))
        let waiting = Task { await handOff.readyForMore() }
        await Self.eventually { handOff.readerWaits }
        #expect(handOff.readerWaits, "four queued: twice a batch for each lane")
        #expect(!handOff.requestStop(), "the reader waits for room, not for the consumer")
        #expect(await Self.settled(waiting) == false, "woken, not timed out")
        #expect(Self.endedEmpty(await Self.settled(lane)))
        #expect(await handOff.next(for: 0) == nil, "what is queued is dropped")
        #expect(!handOff.add([Self.message(0, 3)]))
        #expect(!handOff.beginProcessing(lane: 0))
        #expect(await handOff.readyForMore() == false)
    }

    @Test func aLaneTakesItsNextBatchAheadOnlyWhenAWholeOneIsQueuedAndItStaysQueuedUntilBegun() async {
        let handOff = IngestHandOff(lanes: 1, batchSize: 2)
        #expect(handOff.add([Self.message(0, 0)]))
        #expect(Self.origins(await handOff.next(for: 0)) == ["0:0"])
        #expect(handOff.beginProcessing(lane: 0))
        #expect(handOff.add([Self.message(0, 1)]))
        #expect(handOff.nextIfFull(for: 0) == nil, "half a batch queued: the lane waits for the rest, as before")
        #expect(handOff.add([Self.message(0, 2), Self.message(0, 3)]))
        #expect(Self.origins(handOff.nextIfFull(for: 0)) == ["0:1", "0:2"])
        #expect(handOff.nextIfFull(for: 0) == nil, "one batch ahead at most")
        #expect(handOff.takenAhead == 2)
        #expect(handOff.queued == 3, "taken ahead, not begun: still counted against the queue's bound")
        let reader = Task { await handOff.readyForMore() }
        await Self.eventually { handOff.readerWaits }
        #expect(handOff.readerWaits, "no room: a batch for the lane is queued")
        #expect(!handOff.endProcessing(), "the first batch is done")
        #expect(handOff.beginProcessing(lane: 0), "the batch taken ahead starts")
        #expect(handOff.takenAhead == 0)
        #expect(handOff.queued == 1)
        #expect(await Self.settled(reader) == true, "room again: the reader reads on")
        #expect(Self.origins(await handOff.next(for: 0)) == ["0:3"], "in the order read")
    }

    @Test func aBatchWholeByItsBytesIsTakenAheadToo() async {
        let handOff = IngestHandOff(lanes: 1, batchSize: 10, batchBytes: 1_000)
        #expect(handOff.add([Self.large(0, 0, bytes: 500)]))
        #expect(Self.origins(await handOff.next(for: 0)) == ["0:0"])
        #expect(handOff.beginProcessing(lane: 0))
        #expect(handOff.add([Self.large(0, 1, bytes: 500)]))
        #expect(handOff.nextIfFull(for: 0) == nil, "500 bytes: half a batch")
        #expect(handOff.add((2..<4).map { Self.large(0, $0, bytes: 500) }))
        #expect(Self.origins(handOff.nextIfFull(for: 0)) == ["0:1", "0:2"], "1,000 bytes: a whole batch")
    }

    @Test func aBatchTakenAheadIsNotBegunOnceStopping() async {
        let handOff = IngestHandOff(lanes: 1, batchSize: 1)
        #expect(handOff.add((0..<3).map { Self.message(0, $0) }))
        #expect(Self.origins(await handOff.next(for: 0)) == ["0:0"])
        #expect(handOff.beginProcessing(lane: 0))
        #expect(Self.origins(handOff.nextIfFull(for: 0)) == ["0:1"])
        #expect(!handOff.requestStop(), "two batches in hand")
        #expect(handOff.nextIfFull(for: 0) == nil, "nothing more is taken once stopping")
        #expect(!handOff.endProcessing())
        #expect(!handOff.beginProcessing(lane: 0), "stopping: the batch taken ahead is left unstored")
        #expect(!handOff.endProcessing())
        #expect(handOff.takenAhead == 0)
        #expect(handOff.queued == 1, "the message not taken stays dropped")
    }

    @Test func onStopTheConsumerIsClosedOnlyOnceNoBatchIsInHand() async {
        let idle = IngestHandOff(lanes: 1, batchSize: 10)
        #expect(await idle.readyForMore())
        #expect(idle.requestStop(), "waiting for the consumer with nothing in hand")

        let busy = IngestHandOff(lanes: 1, batchSize: 10)
        #expect(await busy.readyForMore())
        #expect(busy.add([Self.message(0, 0)]))
        #expect(Self.origins(await busy.next(for: 0)) == ["0:0"])
        #expect(await busy.readyForMore())
        #expect(!busy.requestStop(), "a batch is in hand")
        #expect(busy.endProcessing(), "the last batch in hand is done")
    }

    @Test func cancellingAWaitEndsIt() async {
        let handOff = IngestHandOff(lanes: 1, batchSize: 1)
        let lane = Task { await handOff.next(for: 0) }
        await Self.eventually { handOff.idleLanes == 1 }
        lane.cancel()
        #expect(await lane.value == nil)
        #expect(handOff.add((0..<2).map { Self.message(0, $0) }))
        let reader = Task { await handOff.readyForMore() }
        await Self.eventually { handOff.readerWaits }
        reader.cancel()
        #expect(await reader.value == false)
    }
}
