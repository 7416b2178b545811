import Foundation
import ReminderCore

/// One message of a batch as the ingest path hands it to the store: where it came
/// from, its bytes (kept for dead letters and replay), and what decoding made of it.
public struct IngestRecord: Sendable {
    public enum Decoded: Sendable {
        /// An event is one reference (`ReminderEvent`): a batch's records are copied and
        /// destroyed several times on their way to the store.
        case valid(ReminderEvent)
        case invalid(EventValidationError)
        /// A dead letter re-published by an operator (header `x-replay-of`): its reminder
        /// is reset for delivery, once however often it is replayed.
        case replay(of: UUID)
    }

    /// The header that marks a replayed dead letter; its value is the dead letter's id.
    public static let replayHeader = "x-replay-of"

    var isReplay: Bool {
        if case .replay = decoded { return true }
        return false
    }

    /// The batch cut where it changes between replays and events: the runs are applied in
    /// order, each as if it were a batch of its own, so that a cancel behind a replay of
    /// the same reminder finds it reset, wherever the batches happen to split.
    public static func runs(of records: [IngestRecord]) -> [(positions: Range<Int>, replaying: Bool)] {
        var runs: [(positions: Range<Int>, replaying: Bool)] = []
        var start = 0
        while start < records.count {
            let replaying = records[start].isReplay
            var end = start + 1
            while end < records.count && records[end].isReplay == replaying { end += 1 }
            runs.append((start..<end, replaying))
            start = end
        }
        return runs
    }

    public struct Header: Sendable, Equatable {
        public var key: String
        public var value: [UInt8]?

        public init(key: String, value: [UInt8]?) {
            self.key = key
            self.value = value
        }
    }

    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [Header]
    public var decoded: Decoded
    /// The trace the event's reminder (or its dead letter) continues: the consume span's
    /// when tracing is on, else the message's own `traceparent`; nil without either.
    public var trace: TraceContextHeaders?

    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?, headers: [Header],
        decoded: Decoded, trace: TraceContextHeaders? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.decoded = decoded
        self.trace = trace
    }
}

/// What one batch did.
public struct IngestSummary: Sendable, Equatable {
    /// Events whose key was new.
    public var accepted = 0
    /// Events whose key and payload were seen before: dropped.
    public var duplicates = 0
    /// Events whose key was seen before with another payload: dead-lettered.
    public var conflicts = 0
    /// Invalid events: dead-lettered.
    public var invalid = 0
    /// Cancels and replaces of another user's reminder: dead-lettered, nothing changed.
    public var ownershipConflicts = 0
    /// New events that changed nothing (a cancel too late, a schedule for a sent reminder).
    public var skipped: [IngestPlanner.Skipped] = []
    /// Reminders created.
    public var created = 0
    /// Replayed dead letters whose reminder was reset for delivery.
    public var replayed = 0
    /// Replays of dead letters replayed before, or whose reminder has moved on since.
    public var replaysIgnored = 0

    public init() {}
}
