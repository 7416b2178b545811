import ReminderStoreTesting
import Synchronization
import Testing

/// The test clock itself: sleepers wake when the test moves it to their deadline,
/// and a cancelled sleeper leaves at once.
@Suite(.timeLimit(.minutes(6))) struct ManualClockTests {
    @Test func aSleeperWakesOnlyOnceTheClockReachesItsDeadline() async throws {
        let clock = ManualClock()
        let woke = Mutex(false)
        let sleeping = Task {
            try await clock.sleep(for: .seconds(10))
            woke.withLock { $0 = true }
        }
        await clock.waitForSleepers(1)
        clock.advance(by: .seconds(9))
        #expect(!woke.withLock { $0 })
        #expect(clock.sleepDeadlines == [ManualClock.Instant(sinceStart: .seconds(10))])
        clock.advance(by: .seconds(1))
        try await sleeping.value
        #expect(woke.withLock { $0 })
        #expect(clock.sleepDeadlines.isEmpty)
    }

    @Test func oneAdvanceWakesEveryDueSleeperAndOnlyThose() async throws {
        let clock = ManualClock()
        let three = Task { try await clock.sleep(for: .seconds(3)) }
        let one = Task { try await clock.sleep(for: .seconds(1)) }
        let two = Task { try await clock.sleep(for: .seconds(2)) }
        await clock.waitForSleepers(3)
        clock.advance(by: .seconds(2))
        try await one.value
        try await two.value
        #expect(clock.sleepDeadlines == [ManualClock.Instant(sinceStart: .seconds(3))])
        clock.advance(by: .seconds(1))
        try await three.value
        #expect(clock.sleepDeadlines.isEmpty)
    }

    @Test func aDeadlineAlreadyPassedReturnsAtOnce() async throws {
        let clock = ManualClock()
        clock.advance(by: .seconds(5))
        try await clock.sleep(until: ManualClock.Instant(sinceStart: .seconds(5)))
        #expect(clock.sleepDeadlines.isEmpty)
    }

    @Test func aCancelledSleeperThrowsAndLeaves() async {
        let clock = ManualClock()
        let sleeping = Task { try await clock.sleep(for: .seconds(60)) }
        await clock.waitForSleepers(1)
        sleeping.cancel()
        await #expect(throws: CancellationError.self) { try await sleeping.value }
        #expect(clock.sleepDeadlines.isEmpty)
    }

    @Test func aTaskCancelledBeforeItSleepsDoesNotSleep() async {
        let clock = ManualClock()
        let sleeping = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await clock.sleep(for: .seconds(60))
        }
        await #expect(throws: CancellationError.self) { try await sleeping.value }
        #expect(clock.sleepDeadlines.isEmpty)
    }
}
