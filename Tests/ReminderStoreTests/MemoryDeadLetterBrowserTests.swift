import Foundation
import ReminderCore
import ReminderStore
import ReminderStoreTesting
import Testing

/// The in-memory dead-letter browser answers as `DeadLetterStore.list` and `find` do in
/// SQL: every condition of the filter together, the cursor, newest first, the limit, and
/// the message only when asked for.
@Suite(.timeLimit(.minutes(6))) struct MemoryDeadLetterBrowserTests {
    static let start = Date(timeIntervalSince1970: 1_900_000_000)

    static func letter(_ reason: DeadLetterReason, minute: Int = 0, reminderID: String? = nil)
        -> MemoryDeadLetterBrowser.Letter
    {
        MemoryDeadLetterBrowser.Letter(
            reason: reason, message: DeadLetterEntry.Message(key: nil, value: Array("{}".utf8), headers: []),
            reminderID: reminderID, failedAt: start.addingTimeInterval(Double(minute) * 60))
    }

    @Test func replayableOnlyTakesReplayableReasonsOfAStoredReminderNotReplayedBefore() async throws {
        let browser = MemoryDeadLetterBrowser()
        let invalid = Self.letter(.invalidEvent, reminderID: nil)
        let conflict = Self.letter(.idempotencyConflict, reminderID: "r-1")
        let noReminder = Self.letter(.expired, reminderID: nil)
        let replayed = Self.letter(.deliveryExhausted, reminderID: "r-2")
        let replayable = Self.letter(.permanentFailure, reminderID: "r-3")
        for letter in [invalid, conflict, noReminder, replayed, replayable] { browser.add(letter) }
        browser.markReplayed(replayed.id, at: Self.start)
        let listed = try await browser.list(DeadLetterFilter(replayableOnly: true), limit: 10)
        #expect(listed.map(\.id) == [replayable.id])
        #expect(try await browser.list(DeadLetterFilter(), limit: 10).count == 5)
    }

    @Test func idsReasonTimesCursorAndLimitMustAllHold() async throws {
        let browser = MemoryDeadLetterBrowser()
        let letters = (0..<6).map { Self.letter($0 % 2 == 0 ? .expired : .invalidEvent, minute: $0, reminderID: "r") }
        let sequences = letters.map { browser.add($0) }
        #expect(sequences == [1, 2, 3, 4, 5, 6])
        let filter = DeadLetterFilter(
            ids: letters.map(\.id).filter { $0 != letters[2].id }, reason: "expired",
            since: Self.start, until: Self.start.addingTimeInterval(5 * 60))
        // Expired: 0, 2 and 4; 2 is not among the ids; 4 has sequence 5, which a cursor of 5 leaves out.
        #expect(try await browser.list(filter, before: 6, limit: 10).map(\.id) == [letters[4].id, letters[0].id])
        #expect(try await browser.list(filter, before: 5, limit: 10).map(\.id) == [letters[0].id])
        #expect(try await browser.list(filter, before: 6, limit: 1).map(\.id) == [letters[4].id])
        #expect(try await browser.list(DeadLetterFilter(), limit: 0).isEmpty)
    }

    @Test func theMessageOnlyWhenAskedForAndFindAlwaysAsks() async throws {
        let browser = MemoryDeadLetterBrowser()
        let letter = Self.letter(.expired, reminderID: "r-1")
        browser.add(letter)
        #expect(try await browser.list(DeadLetterFilter(), limit: 1).first?.message == nil)
        #expect(
            try await browser.list(DeadLetterFilter(), limit: 1, includeMessage: true).first?.message?.value
                == Array("{}".utf8))
        let found = try #require(try await browser.find(letter.id))
        #expect(found.message?.value == Array("{}".utf8))
        #expect(try await browser.find(UUID()) == nil)
    }

    @Test func timesReadAsTheDatabaseRendersThemAndTheFirstReplayTimeIsKept() async throws {
        let browser = MemoryDeadLetterBrowser()
        let letter = Self.letter(.expired, reminderID: "r-1")
        browser.add(letter)
        browser.markPublished(letter.id, at: Self.start.addingTimeInterval(0.25))
        browser.markReplayed(letter.id, at: Self.start.addingTimeInterval(60))
        browser.markReplayed(letter.id, at: Self.start.addingTimeInterval(120))
        let entry = try #require(try await browser.find(letter.id))
        #expect(entry.failedAt == "2030-03-17T17:46:40.000000Z")
        #expect(entry.publishedAt == "2030-03-17T17:46:40.250000Z")
        #expect(entry.replayedAt == "2030-03-17T17:47:40.000000Z")
    }

    @Test func toldToFailItFailsLikeAnUnreachableDatabaseThenAnswers() async throws {
        let browser = MemoryDeadLetterBrowser()
        browser.add(Self.letter(.expired))
        browser.failNext(1)
        await #expect(throws: StoreError.self) { try await browser.list(DeadLetterFilter(), limit: 1) }
        #expect(try await browser.list(DeadLetterFilter(), limit: 1).count == 1)
    }
}
