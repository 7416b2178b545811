import NotificationService
import Synchronization

@testable import Kafka

/// Partitions of messages in the test's own process, read as a consumer-group member reads
/// them, for tests of `IngestPipeline` without a broker. Batches come in the order the
/// messages were given (offset order per partition), up to `pollSize` at a time; a paused
/// partition's messages are held back until it is resumed. Every pause, resume, mark and
/// commit is kept for the test to read. `nextBatch()` ends (nil) once the source is closed
/// or closing, and also, unless it was told to wait for more, once every message has been
/// handed out; a stop that ends the pipeline's run without a shutdown.
final class MemoryIngestSource: IngestSource {
    enum Ending {
        /// When every message has been handed out (or the source is closed).
        case whenDrained
        /// Only when the source is closed: the pipeline waits for more, as on a quiet topic.
        case whenClosed
    }

    private struct State {
        /// Not handed out yet, in the order given.
        var unread: [KafkaMessage]
        var assigned: [KafkaTopicPartition]
        /// Each partition's first offset and the offset after its last message.
        var bounds: [KafkaTopicPartition: (start: Int64, end: Int64)] = [:]
        var paused: Set<KafkaTopicPartition> = []
        var pauses: [[KafkaTopicPartition]] = []
        var resumes: [[KafkaTopicPartition]] = []
        var topics: [String] = []
        var marked: [KafkaTopicPartition: Int64] = [:]
        var committed: [KafkaTopicPartition: Int64] = [:]
        /// What each commit that had something new to commit committed.
        var commits: [[KafkaTopicPartition: Int64]] = []
        var closing = false
        var closed = false
        /// Counts the changes a waiting reader or test may wait for.
        var version = 0
        var waiters: [CheckedContinuation<Void, Never>] = []

        mutating func changed() -> [CheckedContinuation<Void, Never>] {
            version += 1
            defer { waiters = [] }
            return waiters
        }

        /// Commits what was marked and differs from what is committed.
        mutating func commitMarked() {
            let new = marked.filter { committed[$0.key] != $0.value }
            guard !new.isEmpty else { return }
            committed.merge(new) { $1 }
            commits.append(new)
        }

        /// Up to `limit` unread messages of partitions not paused, in order.
        mutating func take(upTo limit: Int) -> [KafkaMessage] {
            var taken: [KafkaMessage] = []
            var left: [KafkaMessage] = []
            for message in unread {
                if taken.count < limit && !paused.contains(message.topicPartition) {
                    taken.append(message)
                } else {
                    left.append(message)
                }
            }
            unread = left
            return taken
        }
    }

    private let state: Mutex<State>
    private let ending: Ending
    private let pollSize: Int

    /// `assignment`: the partitions this member owns; by default those of the messages.
    init(
        _ messages: [KafkaMessage], assignment: [KafkaTopicPartition]? = nil, pollSize: Int = 500,
        ending: Ending = .whenDrained
    ) {
        var state = State(
            unread: messages, assigned: assignment ?? Array(Set(messages.map(\.topicPartition))).sorted())
        for message in messages {
            let bound = state.bounds[message.topicPartition] ?? (message.offset, message.offset + 1)
            state.bounds[message.topicPartition] = (
                min(bound.start, message.offset), max(bound.end, message.offset + 1)
            )
        }
        self.state = Mutex(state)
        self.ending = ending
        self.pollSize = pollSize
    }

    /// The topics subscribed to.
    var topics: [String] { state.withLock { $0.topics } }
    /// Every pause, in order, with the partitions it paused.
    var pauses: [[KafkaTopicPartition]] { state.withLock { $0.pauses } }
    var resumes: [[KafkaTopicPartition]] { state.withLock { $0.resumes } }
    var paused: Set<KafkaTopicPartition> { state.withLock { $0.paused } }
    /// The next offsets marked for commit, by partition.
    var marked: [KafkaTopicPartition: Int64] { state.withLock { $0.marked } }
    /// The group's committed offsets, by partition.
    var committed: [KafkaTopicPartition: Int64] { state.withLock { $0.committed } }
    var commits: [[KafkaTopicPartition: Int64]] { state.withLock { $0.commits } }
    var isClosed: Bool { state.withLock { $0.closed } }
    /// Messages not handed out yet.
    var unreadCount: Int { state.withLock { $0.unread.count } }

    /// Returns once `condition` holds of the offsets marked for commit.
    func waitUntilMarked(_ condition: @escaping ([KafkaTopicPartition: Int64]) -> Bool) async {
        while true {
            let version = state.withLock { condition($0.marked) ? nil : $0.version }
            guard let version else { return }
            await waitForChange(after: version)
        }
    }

    func subscribe(topics: [String]) throws(KafkaError) {
        state.withLock { $0.topics += topics }
    }

    func nextBatch() async throws -> [KafkaMessage]? {
        enum Next {
            case batch([KafkaMessage])
            case end
            case wait(version: Int)
        }
        while !Task.isCancelled {
            let next = state.withLock { state -> Next in
                if state.closing || state.closed { return .end }
                let batch = state.take(upTo: pollSize)
                if !batch.isEmpty { return .batch(batch) }
                if state.unread.isEmpty && ending == .whenDrained { return .end }
                return .wait(version: state.version)
            }
            switch next {
            case .batch(let batch): return batch
            case .end: return nil
            case .wait(let version): await waitForChange(after: version)
            }
        }
        return nil
    }

    func takeBuffered(upTo limit: Int) -> [KafkaMessage] {
        state.withLock { state in state.closing || state.closed ? [] : state.take(upTo: limit) }
    }

    func pause(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        let waiters = state.withLock { state in
            state.pauses.append(partitions)
            state.paused.formUnion(partitions)
            return state.changed()
        }
        waiters.forEach { $0.resume() }
    }

    func resume(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        let waiters = state.withLock { state in
            state.resumes.append(partitions)
            state.paused.subtract(partitions)
            return state.changed()
        }
        waiters.forEach { $0.resume() }
    }

    func assignment() throws(KafkaError) -> [KafkaTopicPartition] {
        try state.withLock { state throws(KafkaError) in
            if state.closed { throw KafkaError.closed(operation: "assignment") }
            return state.assigned
        }
    }

    func currentAssignment() async throws(KafkaError) -> [KafkaTopicPartition] {
        try assignment()
    }

    /// Throws, as librdkafka does, for a partition not assigned to this member.
    func markProcessed(_ offsets: [KafkaTopicPartitionOffset]) throws(KafkaError) {
        let waiters = try state.withLock { state throws(KafkaError) in
            if state.closed { throw KafkaError.closed(operation: "store offsets") }
            if let stray = offsets.first(where: { !state.assigned.contains($0.topicPartition) }) {
                throw KafkaError(
                    category: .broker, code: -172, name: "_STATE", message: "\(stray.topicPartition) is not assigned",
                    operation: "store offsets")
            }
            for offset in offsets { state.marked[offset.topicPartition] = offset.offset }
            return state.changed()
        }
        waiters.forEach { $0.resume() }
    }

    func commitMarked(timeout: Duration) async throws(KafkaError) {
        try state.withLock { state throws(KafkaError) in
            if state.closed { throw KafkaError.closed(operation: "commit") }
            state.commitMarked()
        }
    }

    func partitionBounds(
        of partitions: [KafkaTopicPartition], timeout: Duration
    ) async throws(KafkaError) -> [KafkaTopicPartition: (start: Int64, end: Int64)] {
        state.withLock { state in state.bounds.filter { partitions.contains($0.key) } }
    }

    func committedOffsets(
        for partitions: [KafkaTopicPartition], timeout: Duration
    ) async throws(KafkaError) -> [KafkaTopicPartition: Int64?] {
        state.withLock { state in
            Dictionary(uniqueKeysWithValues: partitions.map { ($0, state.committed[$0]) })
        }
    }

    func requestClose() {
        let waiters = state.withLock { state in
            state.closing = true
            return state.changed()
        }
        waiters.forEach { $0.resume() }
    }

    /// Commits what was marked, as a consumer's close does.
    func close() async {
        let waiters = state.withLock { state in
            if !state.closed { state.commitMarked() }
            state.closed = true
            return state.changed()
        }
        waiters.forEach { $0.resume() }
    }

    /// Returns once the state has changed since `version` (at once if it has), or the task
    /// is cancelled.
    private func waitForChange(after version: Int) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state in
                    guard state.version == version else { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiters = state.withLock { $0.changed() }
            waiters.forEach { $0.resume() }
        }
    }
}
