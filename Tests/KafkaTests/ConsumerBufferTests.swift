import Testing

@testable import Kafka

@Suite struct ConsumerBufferTests {
    private func messages(_ partition: Int32, _ offsets: ClosedRange<Int64>) -> [KafkaMessage] {
        offsets.map { KafkaMessage(topic: "t", partition: partition, offset: $0, key: nil, value: nil) }
    }

    @Test func batchesComeOutInTheOrderTheyWentIn() {
        var buffer = ConsumerBuffer<Int>(capacity: 100)
        _ = buffer.append(messages(0, 0...2))
        _ = buffer.append(messages(1, 0...1))
        guard case .deliver(let first, _) = buffer.next(), case .deliver(let second, _) = buffer.next() else {
            Issue.record("expected two batches")
            return
        }
        #expect(first.map(\.offset) == [0, 1, 2])
        #expect(second.map(\.partition) == [1, 1])
        #expect(buffer.count == 0)
        guard case .suspend = buffer.next() else {
            Issue.record("an empty running buffer parks the iterator")
            return
        }
    }

    @Test func aParkedIteratorReceivesTheNextBatchDirectly() {
        var buffer = ConsumerBuffer<Int>(capacity: 10)
        guard case .suspend = buffer.next() else {
            Issue.record("expected suspend")
            return
        }
        buffer.park(7)
        guard case .resume(let waiter, let batch) = buffer.append(messages(0, 5...6)) else {
            Issue.record("expected the parked waiter to be resumed")
            return
        }
        #expect(waiter == 7)
        #expect(batch.map(\.offset) == [5, 6])
        #expect(buffer.count == 0)
    }

    @Test func roomShrinksAsMessagesBufferAndThePollerIsWokenWhenItReopens() {
        var buffer = ConsumerBuffer<Int>(capacity: 4)
        _ = buffer.append(messages(0, 0...3))
        #expect(buffer.room == 0)
        _ = buffer.append(messages(0, 4...4))
        guard case .deliver(_, let wake) = buffer.next() else {
            Issue.record("expected a batch")
            return
        }
        #expect(wake == true)
        #expect(buffer.room == 3)
    }

    @Test func revokedPartitionsLoseTheirBufferedMessages() {
        var buffer = ConsumerBuffer<Int>(capacity: 100)
        _ = buffer.append(messages(0, 0...1) + messages(1, 0...1))
        _ = buffer.append(messages(1, 2...3))
        buffer.removeMessages(of: [KafkaTopicPartition(topic: "t", partition: 1)])
        #expect(buffer.count == 2)
        guard case .deliver(let batch, _) = buffer.next() else {
            Issue.record("expected a batch")
            return
        }
        #expect(batch.allSatisfy { $0.partition == 0 })
        guard case .suspend = buffer.next() else {
            Issue.record("the all-revoked batch is gone")
            return
        }
    }

    @Test func finishingDeliversWhatIsBufferedThenEnds() {
        var buffer = ConsumerBuffer<Int>(capacity: 100)
        _ = buffer.append(messages(0, 0...0))
        guard case .none = buffer.finish(nil) else {
            Issue.record("no waiter to resume")
            return
        }
        guard case .deliver = buffer.next() else {
            Issue.record("buffered messages survive a clean finish")
            return
        }
        guard case .finished(nil) = buffer.next() else {
            Issue.record("then the sequence ends")
            return
        }
        #expect(buffer.room == 0)
    }

    @Test func failingDropsTheBufferAndResumesTheWaiterWithTheError() {
        var buffer = ConsumerBuffer<Int>(capacity: 100)
        _ = buffer.next()
        buffer.park(3)
        let failure = KafkaError.closed(operation: "test")
        guard case .resume(3, let error) = buffer.finish(failure) else {
            Issue.record("waiter resumed")
            return
        }
        #expect(error == failure)
        _ = buffer.append(messages(0, 0...0))
        guard case .finished(let again) = buffer.next() else {
            Issue.record("nothing after the end")
            return
        }
        #expect(again == failure)
    }

    @Test func takingEverythingEmptiesTheBufferInOrderAndReopensRoom() {
        var buffer = ConsumerBuffer<Int>(capacity: 3)
        _ = buffer.append(messages(0, 0...1))
        _ = buffer.append(messages(1, 0...1))
        let (taken, wake) = buffer.take()
        #expect(taken.map(\.partition) == [0, 0, 1, 1])
        #expect(wake)
        #expect(buffer.count == 0)
        #expect(buffer.take().messages.isEmpty)
    }

    @Test func takingUpToALimitSplitsABatchAndKeepsTheRestInOrder() {
        var buffer = ConsumerBuffer<Int>(capacity: 5)
        _ = buffer.append(messages(0, 0...2))
        _ = buffer.append(messages(1, 0...2))
        let first = buffer.take(upTo: 4)
        #expect(first.messages.map { "\($0.partition):\($0.offset)" } == ["0:0", "0:1", "0:2", "1:0"])
        #expect(first.wakePoller)
        #expect(buffer.count == 2)
        #expect(buffer.take(upTo: 0).messages.isEmpty)
        let second = buffer.take(upTo: 1)
        #expect(second.messages.map { "\($0.partition):\($0.offset)" } == ["1:1"])
        #expect(!second.wakePoller)
        guard case .deliver(let rest, _) = buffer.next() else {
            Issue.record("the rest of the split batch is delivered next")
            return
        }
        #expect(rest.map { "\($0.partition):\($0.offset)" } == ["1:2"])
        #expect(buffer.count == 0)
    }

    private func large(_ partition: Int32, _ offsets: ClosedRange<Int64>, bytes: Int) -> [KafkaMessage] {
        offsets.map {
            KafkaMessage(
                topic: "t", partition: partition, offset: $0, key: [1, 2],
                value: [UInt8](repeating: 7, count: bytes - 2))
        }
    }

    /// Large messages fill the byte bound long before the count: the poller gets no room
    /// from then on and is woken when taking or revoking brings the bytes below it again.
    @Test func theByteBoundClosesRoomBeforeTheCountDoesAndReopensAsMessagesLeave() {
        var buffer = ConsumerBuffer<Int>(capacity: 100, capacityBytes: 1_000)
        _ = buffer.append(large(0, 0...2, bytes: 300))
        #expect(buffer.bytes == 900)
        #expect(buffer.room == 97)
        _ = buffer.append(large(1, 0...1, bytes: 300))
        #expect(buffer.bytes == 1_500)
        #expect(buffer.room == 0, "full in bytes with 5 of 100 messages")
        let first = buffer.take(upTo: 1)
        #expect(first.messages.map(\.offset) == [0])
        #expect(first.wakePoller == false, "1,200 bytes: still full")
        guard case .deliver(let rest, let wake) = buffer.next() else {
            Issue.record("expected the rest of the first batch")
            return
        }
        #expect(rest.map(\.offset) == [1, 2])
        #expect(wake == true, "600 bytes: room again")
        #expect(buffer.bytes == 600)
        #expect(buffer.room == 98)
        _ = buffer.append(large(2, 0...1, bytes: 300))
        #expect(buffer.room == 0)
        buffer.removeMessages(of: [KafkaTopicPartition(topic: "t", partition: 2)])
        #expect(buffer.bytes == 600)
        #expect(buffer.room == 98)
        _ = buffer.finish(.closed(operation: "test"))
        #expect(buffer.bytes == 0)
    }

    /// Whether `value`'s storage is shared: writing to a shared array copies it first.
    private func isShared(_ value: inout [UInt8]) -> Bool {
        let before = value.withUnsafeBufferPointer { $0.baseAddress }
        value[0] &+= 1
        return value.withUnsafeBufferPointer { $0.baseAddress } != before
    }

    /// The poll thread appends while the caller takes a batch at a time, so the buffer
    /// may never be empty: what it handed out must not stay alive in it meanwhile, or it
    /// holds every message read since it was last empty.
    @Test func aBatchHandedOutIsNoLongerHeldWhileOthersAreBuffered() {
        var buffer = ConsumerBuffer<Int>(capacity: 1_000)
        var delivered: [[UInt8]] = []
        for round in 0..<40 {
            var value: [UInt8] = [UInt8(round % 250), 1, 2]
            _ = buffer.append([KafkaMessage(topic: "t", partition: 0, offset: Int64(round), key: nil, value: value)])
            _ = buffer.append(messages(1, Int64(round)...Int64(round)))
            // One batch out per two in: the buffer is never drained.
            guard case .deliver(let batch, _) = buffer.next() else {
                Issue.record("expected a batch")
                return
            }
            if let first = batch.first?.value { delivered.append(first) }
            #expect(isShared(&value), "still buffered or just handed out")
        }
        #expect(buffer.count == 40)
        for index in delivered.indices {
            #expect(!isShared(&delivered[index]), "batch \(index) was handed out and dropped by the caller")
        }
        // The rest come out in order.
        var offsets: [String] = []
        while case .deliver(let batch, _) = buffer.next() {
            offsets += batch.map { "\($0.partition):\($0.offset)" }
        }
        #expect(offsets.count == 40)
        #expect(offsets.first == "0:20")
        #expect(offsets.last == "1:39")
    }
}
