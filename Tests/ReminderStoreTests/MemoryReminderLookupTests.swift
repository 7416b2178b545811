import Foundation
import ReminderCore
import ReminderStore
import ReminderStoreTesting
import Testing

/// The in-memory lookup reads a `MemoryDispatchStore`'s reminders as `ReminderLookup`
/// reads the `reminders` table: by the publisher's id, and counting only the states a
/// reminder waits in.
@Suite(.timeLimit(.minutes(6))) struct MemoryReminderLookupTests {
    static let now = Date(timeIntervalSince1970: 1_900_000_000)

    @Test func waitingRemindersAreCountedByStateAndEndedOnesLeftOut() async throws {
        let store = MemoryDispatchStore(now: { Self.now })
        for number in 0..<3 {
            store.schedule(
                reminderID: "r-\(number)", channels: "[]", content: "{}",
                dueAt: Self.now.addingTimeInterval(Double(number - 3)))
        }
        let lookup = MemoryReminderLookup(reminders: store)
        #expect(try await lookup.countWaitingByState() == ["SCHEDULED": 3])
        let claimed = try #require(try await store.claim(limit: 2, lease: .seconds(60)).first)
        try await store.complete([
            DispatchStore.Completion(
                id: claimed.id, attempt: claimed.attempt, result: .delivered,
                progress: ChannelProgress(channelCount: 1),
                errorClass: nil, channelAttempts: [])
        ])
        #expect(try await lookup.countWaitingByState() == ["SCHEDULED": 1, "SENDING": 1])
    }

    @Test func aReminderIsFoundByItsPublishersIDWithItsChannelTypesAndHistory() async throws {
        let store = MemoryDispatchStore(now: { Self.now })
        store.schedule(
            reminderID: "r-1", channels: #"[{"type":"email","to":"a@b.co"},{"type":"push","token":"t"}]"#,
            content: "{}", dueAt: Self.now, expiresAt: Self.now.addingTimeInterval(3_600))
        let lookup = MemoryReminderLookup(reminders: store)
        let report = try #require(try await lookup.find(reminderID: "r-1"))
        #expect(report.state == "SCHEDULED")
        #expect(report.channels == ["email", "push"])
        #expect(report.dueAt == "2030-03-17T17:46:40.000000Z")
        #expect(report.expiresAt == "2030-03-17T18:46:40.000000Z")
        #expect(report.transitions.map(\.to) == ["SCHEDULED"])
        #expect(try await lookup.find(reminderID: "r-2") == nil)
    }

    @Test func toldToFailItFailsLikeAnUnreachableDatabaseThenAnswers() async throws {
        let lookup = MemoryReminderLookup(reminders: MemoryDispatchStore())
        lookup.failNext(2)
        await #expect(throws: StoreError.self) { try await lookup.ping() }
        let error = await #expect(throws: StoreError.self) { try await lookup.find(reminderID: "r-1") }
        #expect(error?.code == .connection)
        try await lookup.ping()
    }
}
