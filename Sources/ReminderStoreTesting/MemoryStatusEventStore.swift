import ReminderStore
import Synchronization

/// The status outbox in memory, for tests of the status relay without a database: records
/// come out in the order they were added until they are marked published. It can be told
/// not to answer (its reads and marks). Its lease is held until released or expired by the
/// test.
public final class MemoryStatusEventStore: StatusEventStoring, OutboxLeaseForwarding {
    private let contents = Mutex<
        (records: [StatusEventStore.Record], published: Set<Int64>, scannedThrough: Int64, reads: Int)
    >(([], [], 0, 0))
    public let outboxLease = MemoryOutboxLease()
    private let stalls = StalledCalls()

    public init() {}

    /// Adds a record to the end of the outbox, as a state change's statement does.
    public func add(_ record: StatusEventStore.Record) {
        contents.withLock { $0.records.append(record) }
    }

    /// The sequence numbers marked published, in outbox order.
    public var publishedSequences: [Int64] {
        contents.withLock { contents in contents.records.map(\.sequence).filter(contents.published.contains) }
    }

    /// The next `count` calls do not answer, even when cancelled, until `answerStalled`.
    public func stallNext(_ count: Int) {
        stalls.stall(next: count)
    }

    /// The stalled calls fail now, as a connection that went away.
    public func answerStalled() {
        stalls.answer()
    }

    public func unpublished(limit: Int) async throws(StoreError) -> [StatusEventStore.Record] {
        try await stalls.wait("read unpublished status events")
        return contents.withLock { contents in
            let read = Array(contents.records.filter { !contents.published.contains($0.sequence) }.prefix(limit))
            contents.scannedThrough = max(contents.scannedThrough, read.last?.sequence ?? 0)
            contents.reads += 1
            return read
        }
    }

    public var scannedThrough: Int64 { contents.withLock { $0.scannedThrough } }

    /// How many reads it has answered.
    public var reads: Int { contents.withLock { $0.reads } }

    public func markPublished(_ sequences: [Int64], handedOff: Bool) async throws(StoreError) {
        guard !sequences.isEmpty else { return }
        try await stalls.wait("mark \(sequences.count) status events published")
        contents.withLock { contents in
            let known = Set(contents.records.map(\.sequence))
            contents.published.formUnion(sequences.filter(known.contains))
        }
    }
}
