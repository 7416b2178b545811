import Foundation
import ReminderStore
import Testing

@testable import Kafka
@testable import NotificationService

/// The status relay's record and its rule for what a partly refused batch marks published.
@Suite struct StatusRelayTests {
    private static func record(
        _ sequence: Int64, reminder: String, type: String = "scheduled", occurrence: Int? = nil,
        willRetry: Bool? = nil
    ) -> StatusEventStore.Record {
        StatusEventStore.Record(
            id: UUID(), sequence: sequence, type: type, reminderID: reminder, userID: "user-1",
            correlationID: sequence.isMultiple(of: 2) ? "corr-\(sequence)" : nil, occurrence: occurrence, attempt: 0,
            channel: nil, provider: nil, willRetry: willRetry, dueAt: "2027-01-04T08:00:00.000000Z", reason: nil,
            error: nil, detail: nil, at: "2027-01-03T08:00:00.000000Z")
    }

    @Test func aRefusedRecordHoldsBackItsRemindersLaterOnesButNotOtherReminders() {
        let records = [
            Self.record(1, reminder: "a"), Self.record(2, reminder: "b"), Self.record(3, reminder: "a"),
            Self.record(4, reminder: "b"), Self.record(5, reminder: "c"), Self.record(6, reminder: "a"),
        ]
        // a's first refused: a's later ones are not marked, even though acknowledged.
        let marked = StatusRelay<ContinuousClock>.markable(records, [false, true, true, true, true, true])
        #expect(marked.map(\.sequence) == [2, 4, 5])
        // b's second refused: b's first stays marked.
        let second = StatusRelay<ContinuousClock>.markable(records, [true, true, true, false, true, true])
        #expect(second.map(\.sequence) == [1, 2, 3, 5, 6])
        #expect(StatusRelay<ContinuousClock>.markable(records, Array(repeating: true, count: 6)).count == 6)
        #expect(StatusRelay<ContinuousClock>.markable(records, Array(repeating: false, count: 6)).isEmpty)
    }

    @Test func theRecordIsKeyedByUserWithItsIdInAHeaderAndLeavesAbsentFieldsOut() throws {
        let record = Self.record(7, reminder: "r-1", type: "attempt_failed", occurrence: 3, willRetry: false)
        let message = try StatusRelay<ContinuousClock>.message(record, topic: "reminders.status")
        #expect(message.topic == "reminders.status")
        #expect(message.key == Array("user-1".utf8))
        let headers = Dictionary(
            uniqueKeysWithValues: message.headers.map { ($0.key, String(decoding: $0.value ?? [], as: UTF8.self)) })
        #expect(
            headers == [
                "x-status-id": record.id.uuidString.lowercased(), "x-status-type": "attempt_failed",
                "content-type": "application/json",
            ])
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(message.value ?? [])) as? [String: Any])
        #expect(
            Set(json.keys) == [
                "schema_version", "id", "sequence", "type", "reminder_id", "user_id", "occurrence", "attempt",
                "will_retry", "due_at", "at",
            ])
        #expect(json["occurrence"] as? Int == 3 && json["sequence"] as? Int == 7)
        #expect(json["will_retry"] as? Bool == false)
        #expect(json["id"] as? String == record.id.uuidString.lowercased())
    }
}
