import ReminderCore

/// A run of consumed events sorted before the inbox sees them: the invalid ones, the
/// repeats of a key met earlier in the run (a duplicate when the bytes are the same, a
/// conflict when they are not), and the first event of each key, which goes on to the
/// inbox. Pure, so that every ingest store (PostgreSQL's, the in-memory one) sorts a run
/// the same way.
public struct EventRun: Sendable {
    /// An event dead-lettered before the inbox.
    public enum Refused: Sendable {
        /// Dead-lettered as `invalid_event`.
        case invalid(position: Int, EventValidationError)
        /// A repeat of a key with other bytes: dead-lettered as `idempotency_conflict`.
        case conflict(IngestPlanner.Input)
    }

    /// The first event of each key, in order: what the inbox decides about.
    public private(set) var candidates: [IngestPlanner.Input] = []
    /// In the order they came.
    public private(set) var refused: [Refused] = []
    /// Repeats of a key with the same bytes: dropped.
    public private(set) var duplicates = 0
    public private(set) var invalidCount = 0
    public private(set) var conflictCount = 0

    /// Sorts the events at `positions` of `records`; replays among them are left out.
    public init(_ positions: Range<Int>, of records: [IngestRecord]) {
        var firstByKey: [String: Int] = [:]
        firstByKey.reserveCapacity(positions.count)
        for position in positions {
            switch records[position].decoded {
            case .replay:
                continue
            case .invalid(let error):
                invalidCount += 1
                refused.append(.invalid(position: position, error))
            case .valid(let event):
                guard let first = firstByKey[event.idempotencyKey] else {
                    firstByKey[event.idempotencyKey] = position
                    candidates.append(IngestPlanner.Input(position: position, event: event))
                    continue
                }
                if records[first].value == records[position].value {
                    duplicates += 1
                } else {
                    conflictCount += 1
                    refused.append(.conflict(IngestPlanner.Input(position: position, event: event)))
                }
            }
        }
    }
}
