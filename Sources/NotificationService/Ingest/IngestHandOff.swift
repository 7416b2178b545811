import Kafka
import Synchronization

/// What passes between the task that reads the consumer and the lanes that store. What is
/// read waits in its lane's queue (lane = partition modulo the lane count, so one lane
/// stores a partition's messages, in order), and a lane that is free takes up to a batch
/// of its own queue. The consumer's read-ahead comes a partition at a time: a lane whose
/// partitions are not in what was read last does not wait for the other lanes' shares to
/// be stored, because the reader goes on reading while a lane is idle (until twice a
/// batch for each lane is queued); it reads what the queue has room for (`room`). A
/// batch is bounded in bytes as well as in messages (`KafkaMessage.byteCount`), and so is
/// the queue, so that large events do not multiply what is held by their size.
///
/// It also says when the pipeline stops: a stop lets the batches lanes took finish;
/// messages still queued are dropped, neither stored nor committed (the partitions' next
/// owner reads them again), and the consumer is closed (to wake a reader waiting for
/// messages) only once no batch is in hand.
final class IngestHandOff: Sendable {
    private struct State {
        /// Each lane's messages not taken yet, oldest first.
        var queues: [[KafkaMessage]]
        var queued = 0
        var queuedBytes = 0
        /// Lanes waiting for messages (their queues are empty).
        var idle: [Int: CheckedContinuation<[KafkaMessage]?, Never>] = [:]
        /// The reader, waiting for room.
        var reader: CheckedContinuation<Bool, Never>?
        var stopping = false
        /// The reader reads no more: lanes end once their queues are empty.
        var finished = false
        /// The reader waits for the consumer.
        var waiting = false
        /// Batches taken by a lane and not finished yet.
        var inHand = 0
        /// Each lane's batch taken ahead (`nextIfFull`) and not started yet: its messages
        /// and bytes, still counted in `queued` and `queuedBytes`.
        var ahead: [(count: Int, bytes: Int)]
    }

    let lanes: Int
    let batchSize: Int
    /// The most bytes a batch holds; a message larger than that is a batch alone.
    let batchBytes: Int
    /// A batch for each lane: what the reader reads at a time, and the queue's room.
    let capacity: Int
    /// The same in bytes.
    let capacityBytes: Int
    private let state: Mutex<State>

    init(lanes: Int, batchSize: Int, batchBytes: Int = .max) {
        self.lanes = max(1, lanes)
        self.batchSize = max(1, batchSize)
        self.batchBytes = max(1, batchBytes)
        self.capacity = self.lanes * self.batchSize
        let (bytes, overflow) = self.batchBytes.multipliedReportingOverflow(by: self.lanes)
        self.capacityBytes = overflow ? .max : bytes
        self.state = Mutex(
            State(
                queues: Array(repeating: [], count: self.lanes),
                ahead: Array(repeating: (0, 0), count: self.lanes)))
    }

    static func lane(of partition: Int32, lanes: Int) -> Int { Int(partition) % lanes }

    /// Waits until there is room for more, then counts the reader as waiting for the
    /// consumer; false when stopping (or cancelled): the reader reads no more.
    func readyForMore() async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let answer: Bool? = state.withLock { state in
                    if state.stopping || Task.isCancelled { return false }
                    guard !hasRoom(state) else {
                        state.waiting = true
                        return true
                    }
                    state.reader = continuation
                    return nil
                }
                if let answer { continuation.resume(returning: answer) }
            }
        } onCancel: {
            state.withLock { state in
                defer { state.reader = nil }
                return state.reader
            }?.resume(returning: false)
        }
    }

    /// Queues what the reader read, each message in its partition's lane, and hands
    /// idle lanes their batches. False when stopping: nothing is queued.
    func add(_ messages: [KafkaMessage]) -> Bool {
        typealias Woken = (lane: CheckedContinuation<[KafkaMessage]?, Never>, batch: [KafkaMessage])
        let (accepted, woken) = state.withLock { state -> (Bool, [Woken]) in
            state.waiting = false
            guard !state.stopping else { return (false, []) }
            for message in messages {
                state.queues[Self.lane(of: message.partition, lanes: lanes)].append(message)
                state.queuedBytes += message.byteCount
            }
            state.queued += messages.count
            var woken: [Woken] = []
            for lane in Array(state.idle.keys) where !state.queues[lane].isEmpty {
                if let continuation = state.idle.removeValue(forKey: lane) {
                    woken.append((continuation, take(from: lane, &state)))
                }
            }
            return (true, woken)
        }
        for (lane, batch) in woken { lane.resume(returning: batch) }
        return accepted
    }

    /// Up to a batch of `lane`'s queue, oldest first, waiting while it is empty. Nil once
    /// stopping (what is queued is dropped), or once the reader finished and the queue is
    /// empty, or when the task is cancelled.
    func next(for lane: Int) async -> [KafkaMessage]? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[KafkaMessage]?, Never>) in
                let (answer, reader): ([KafkaMessage]??, CheckedContinuation<Bool, Never>?) = state.withLock {
                    state in
                    if state.stopping || Task.isCancelled { return (.some(nil), nil) }
                    if !state.queues[lane].isEmpty {
                        let batch = take(from: lane, &state)
                        return (batch, wakeReader(&state))
                    }
                    if state.finished { return (.some(nil), nil) }
                    state.idle[lane] = continuation
                    return (nil, wakeReader(&state))
                }
                reader?.resume(returning: true)
                if let answer { continuation.resume(returning: answer) }
            }
        } onCancel: {
            state.withLock { state in state.idle.removeValue(forKey: lane) }?.resume(returning: nil)
        }
    }

    /// A whole batch of `lane`'s queue (`batchSize` messages, or fewer when they reach
    /// `batchBytes`), taken as `next(for:)` takes it, if the queue holds that much already:
    /// nil without waiting otherwise, or when stopping. A lane takes its next batch this way
    /// while it stores the one before, to decode it meanwhile; a smaller one it waits for,
    /// as it would have, since smaller batches cost the database more per message.
    func nextIfFull(for lane: Int) -> [KafkaMessage]? {
        state.withLock { state in
            guard !state.stopping, state.ahead[lane].count == 0 else { return nil }
            let end = batchEnd(in: state.queues[lane])
            guard end.count == batchSize || end.count < state.queues[lane].count else { return nil }
            return take(from: lane, &state, ending: end, ahead: true)
        }
    }

    /// The reader reads no more: lanes store what is queued, then end.
    func finish() {
        let idle = state.withLock { state in
            state.finished = true
            defer { state.idle = [:] }
            return state.idle.values
        }
        idle.forEach { $0.resume(returning: nil) }
    }

    /// `lane` starts the batch it took last; false when stopping (it is left unstored).
    /// A batch taken ahead leaves the queue's count only now, and the reader reads on.
    func beginProcessing(lane: Int) -> Bool {
        let (begin, reader) = state.withLock { state -> (Bool, CheckedContinuation<Bool, Never>?) in
            let ahead = state.ahead[lane]
            guard ahead.count > 0 else { return (!state.stopping, nil) }
            state.ahead[lane] = (0, 0)
            state.queued -= ahead.count
            state.queuedBytes -= ahead.bytes
            return (!state.stopping, wakeReader(&state))
        }
        reader?.resume(returning: true)
        return begin
    }

    /// A lane is done with a batch. True when the consumer must now be closed: stopping,
    /// nothing else in hand, and the reader waits for messages.
    func endProcessing() -> Bool {
        state.withLock { state in
            state.inHand -= 1
            return state.stopping && state.waiting && state.inHand == 0
        }
    }

    /// Stops handing out batches. Returns true when the consumer must be closed at once
    /// to wake the reader: it waits for messages and no batch is in hand.
    func requestStop() -> Bool {
        let (close, idle, reader) = state.withLock { state in
            state.stopping = true
            defer {
                state.idle = [:]
                state.reader = nil
            }
            return (state.waiting && state.inHand == 0, state.idle.values, state.reader)
        }
        idle.forEach { $0.resume(returning: nil) }
        reader?.resume(returning: false)
        return close
    }

    var isStopping: Bool { state.withLock { $0.stopping } }

    /// Whether everything queued has been stored (or dropped): nothing is queued and no
    /// lane has a batch in hand.
    var holdsNothing: Bool { state.withLock { $0.queued == 0 && $0.inHand == 0 } }

    /// Messages queued and not begun by a lane yet (those taken ahead included).
    var queued: Int { state.withLock { $0.queued } }

    /// Messages the lanes took ahead (`nextIfFull`) and have not begun yet.
    var takenAhead: Int { state.withLock { $0.ahead.reduce(0) { $0 + $1.count } } }

    /// Their bytes.
    var queuedBytes: Int { state.withLock { $0.queuedBytes } }

    /// How many more messages the queue takes: what is left of a batch for each lane, or
    /// of twice that with a lane idle (0 when there is no room). The reader reads that
    /// much, so that what is queued stays within those bounds rather than reaching them
    /// plus a whole read.
    var room: Int { state.withLock { room($0) } }

    /// Whether `readyForMore()` would answer at once.
    var hasRoom: Bool { state.withLock { $0.stopping || hasRoom($0) } }

    /// Lanes waiting for messages.
    var idleLanes: Int { state.withLock { $0.idle.count } }

    /// Whether the reader waits for room.
    var readerWaits: Bool { state.withLock { $0.reader != nil } }

    /// Room for more: less than a batch for each lane queued (in messages and in bytes),
    /// or a lane idle and less than twice that (the reader reads on to find the idle
    /// lane's partitions).
    private func hasRoom(_ state: State) -> Bool {
        (state.queued < capacity && state.queuedBytes < capacityBytes)
            || (!state.idle.isEmpty && state.queued < 2 * capacity && state.queuedBytes / 2 < capacityBytes)
    }

    private func room(_ state: State) -> Int {
        guard hasRoom(state) else { return 0 }
        return max(1, (state.idle.isEmpty ? capacity : 2 * capacity) - state.queued)
    }

    /// The oldest of `lane`'s queue, up to a batch: `batchSize` messages, and no more than
    /// `batchBytes` unless the first message alone is larger (`ending` there, when the
    /// caller found where already). A batch taken `ahead` stays counted as queued until its
    /// lane begins it.
    private func take(
        from lane: Int, _ state: inout State, ending end: (count: Int, bytes: Int)? = nil, ahead: Bool = false
    ) -> [KafkaMessage] {
        let (count, bytes) = end ?? batchEnd(in: state.queues[lane])
        let batch: [KafkaMessage]
        if count == state.queues[lane].count {
            batch = state.queues[lane]
            state.queues[lane] = []
        } else {
            batch = Array(state.queues[lane][..<count])
            state.queues[lane].removeFirst(count)
        }
        if ahead {
            state.ahead[lane] = (count, bytes)
        } else {
            state.queued -= count
            state.queuedBytes -= bytes
        }
        state.inHand += 1
        return batch
    }

    /// How many of `queue`'s oldest messages make a batch, and their bytes: `batchSize`
    /// messages, and no more than `batchBytes` unless the first message alone is larger.
    private func batchEnd(in queue: [KafkaMessage]) -> (count: Int, bytes: Int) {
        var count = 0
        var bytes = 0
        for message in queue.prefix(batchSize) {
            let size = message.byteCount
            if count > 0, bytes + size > batchBytes { break }
            count += 1
            bytes += size
        }
        return (count, bytes)
    }

    /// The reader, when it waits for room and there is some now.
    private func wakeReader(_ state: inout State) -> CheckedContinuation<Bool, Never>? {
        guard let reader = state.reader, hasRoom(state) else { return nil }
        state.reader = nil
        state.waiting = true
        return reader
    }
}
