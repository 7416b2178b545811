/// The messages a consumer has read ahead of its caller, as a state machine without
/// I/O: the poll thread appends batches, the caller's iterator takes them, and each
/// method returns what to do next, which the caller performs outside the lock.
///
/// Generic over the waiting iterator's continuation so that it can be tested without one.
struct ConsumerBuffer<Waiter> {
    enum NextAction {
        /// Hand this batch to the iterator; `wakePoller` when the poll thread may now fetch.
        case deliver([KafkaMessage], wakePoller: Bool)
        /// Nothing buffered: park the iterator until a batch or the end arrives.
        case suspend
        /// The consumer has stopped; end iteration (with the error, if it failed).
        case finished(KafkaError?)
    }

    enum AppendAction {
        /// Resume the parked iterator with this batch.
        case resume(Waiter, [KafkaMessage])
        case none
    }

    enum FinishAction {
        case resume(Waiter, KafkaError?)
        case none
    }

    let capacity: Int
    /// The most bytes (`KafkaMessage.byteCount`) buffered before the poll thread waits: it
    /// fetches while below, so one poll batch may pass it.
    let capacityBytes: Int
    private var batches: [[KafkaMessage]] = []
    private var head = 0
    private(set) var count = 0
    private(set) var bytes = 0
    private var waiter: Waiter?
    private var finished = false
    private var failure: KafkaError?

    init(capacity: Int, capacityBytes: Int = .max) {
        self.capacity = capacity
        self.capacityBytes = capacityBytes
    }

    /// How many more messages the poll thread may fetch now: none once either bound is
    /// reached.
    var room: Int { finished || isFull ? 0 : capacity - count }

    private var isFull: Bool { count >= capacity || bytes >= capacityBytes }

    private static func byteCount(_ messages: some Collection<KafkaMessage>) -> Int {
        messages.reduce(0) { $0 + $1.byteCount }
    }

    var isFinished: Bool { finished }

    mutating func append(_ batch: [KafkaMessage]) -> AppendAction {
        guard !finished, !batch.isEmpty else { return .none }
        if let waiter {
            self.waiter = nil
            return .resume(waiter, batch)
        }
        batches.append(batch)
        count += batch.count
        bytes += Self.byteCount(batch)
        return .none
    }

    mutating func next() -> NextAction {
        if head < batches.count {
            let batch = batches[head]
            let wasFull = isFull
            batches[head] = []
            head += 1
            count -= batch.count
            bytes -= Self.byteCount(batch)
            dropDelivered()
            return .deliver(batch, wakePoller: wasFull && !isFull)
        }
        return finished ? .finished(failure) : .suspend
    }

    /// Up to `limit` of the buffered messages, oldest first, without waiting; empty when
    /// nothing is. A read-ahead batch is split when only part of it fits.
    mutating func take(upTo limit: Int = .max) -> (messages: [KafkaMessage], wakePoller: Bool) {
        guard head < batches.count, limit > 0 else { return ([], false) }
        let wasFull = isFull
        var messages: [KafkaMessage] = []
        messages.reserveCapacity(min(count, limit))
        while head < batches.count, messages.count < limit {
            let room = limit - messages.count
            if batches[head].count <= room {
                messages += batches[head]
                batches[head] = []
                head += 1
            } else {
                messages += batches[head].prefix(room)
                batches[head].removeFirst(room)
            }
        }
        dropDelivered()
        count -= messages.count
        bytes -= Self.byteCount(messages)
        return (messages, wasFull && !isFull)
    }

    /// Forgets the slots of batches handed out. Each is emptied as it goes, so that a
    /// message the caller is done with is not kept alive here while the poll thread keeps
    /// appending. (They were: a buffer that was never drained held every batch it had
    /// delivered since it last was; at the peak of an ingest benchmark's heap profile
    /// about 38 poll batches of up to 1,000 messages were alive, for a capacity of 5,000
    /// messages.) The slots themselves go once they are half of the array.
    private mutating func dropDelivered() {
        if head == batches.count {
            batches.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 16, head * 2 >= batches.count {
            batches.removeFirst(head)
            head = 0
        }
    }

    /// Parks the iterator. Only valid right after `next()` returned `.suspend`, under the same lock.
    mutating func park(_ waiter: Waiter) {
        precondition(self.waiter == nil, "KafkaConsumer messages are iterated by more than one task at once")
        self.waiter = waiter
    }

    /// Takes the parked iterator back, for cancellation.
    mutating func unpark() -> Waiter? {
        defer { waiter = nil }
        return waiter
    }

    /// Drops buffered messages of partitions that are no longer ours: the next owner
    /// reads them again from the committed offset.
    mutating func removeMessages(of partitions: Set<KafkaTopicPartition>) {
        guard !partitions.isEmpty, count > 0 else { return }
        var kept: [[KafkaMessage]] = []
        var keptCount = 0
        var keptBytes = 0
        for batch in batches[head...] {
            let remaining = batch.filter { !partitions.contains($0.topicPartition) }
            if !remaining.isEmpty {
                kept.append(remaining)
                keptCount += remaining.count
                keptBytes += Self.byteCount(remaining)
            }
        }
        batches = kept
        head = 0
        count = keptCount
        bytes = keptBytes
    }

    /// Ends the sequence. Buffered messages are still delivered before the end unless
    /// the consumer failed.
    mutating func finish(_ error: KafkaError?) -> FinishAction {
        guard !finished else { return .none }
        finished = true
        failure = error
        if error != nil {
            batches.removeAll()
            head = 0
            count = 0
            bytes = 0
        }
        if let waiter {
            self.waiter = nil
            return .resume(waiter, error)
        }
        return .none
    }
}
