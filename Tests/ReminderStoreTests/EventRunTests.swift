import ReminderCore
import ReminderStore
import TestSupport
import Testing

/// How a run of events is sorted before the inbox: the first of each key goes on, a repeat
/// with the same bytes is a duplicate, one with other bytes a conflict, an invalid one is
/// refused, each in the order it came.
@Suite struct EventRunTests {
    static func record(_ json: String, offset: Int64) -> IngestRecord {
        let bytes = Array(json.utf8)
        return IngestRecord(
            topic: "reminders", partition: 0, offset: offset, key: Array("user-1".utf8), value: bytes, headers: [],
            decoded: .init(decoding: bytes))
    }

    static func cancel(key: String, reminder: String) -> String {
        #"{"schema_version":1,"type":"cancel","idempotency_key":"\#(key)","reminder_id":"\#(reminder)","user_id":"user-1"}"#
    }

    @Test func eachKeyGoesOnOnceAndRepeatsAreDuplicatesOrConflictsInTheOrderTheyCame() {
        let records = [
            Self.record(Self.cancel(key: "a", reminder: "r-1"), offset: 0),
            Self.record(Self.cancel(key: "a", reminder: "r-2"), offset: 1),
            Self.record("{", offset: 2),
            Self.record(Self.cancel(key: "a", reminder: "r-1"), offset: 3),
            Self.record(Self.cancel(key: "b", reminder: "r-1"), offset: 4),
        ]
        let run = EventRun(0..<records.count, of: records)
        #expect(run.candidates.map(\.position) == [0, 4])
        #expect(run.duplicates == 1)
        #expect(run.conflictCount == 1 && run.invalidCount == 1)
        let refused = run.refused.map { refused -> Int in
            switch refused {
            case .invalid(let position, _): position
            case .conflict(let input): input.position
            }
        }
        #expect(refused == [1, 2])
    }

    @Test func onlyThePositionsAskedForAreSorted() {
        let records = [
            Self.record(Self.cancel(key: "a", reminder: "r-1"), offset: 0),
            Self.record(Self.cancel(key: "a", reminder: "r-2"), offset: 1),
        ]
        let run = EventRun(1..<2, of: records)
        #expect(run.candidates.map(\.position) == [1])
        #expect(run.refused.isEmpty)
    }
}
