import ReminderCore
import ReminderStoreTesting
import Synchronization
import Testing

@testable import NotificationService

/// The service's one retry loop, on a manual clock: every wait is seen and ended by the
/// test, none is slept for real.
@Suite(.timeLimit(.minutes(6))) struct RetryLoopTests {
    struct Refused: Error, Equatable {
        let attempt: Int
    }

    /// An operation that fails its first `failures` attempts (each with its attempt
    /// number), then returns "done"; it counts the attempts.
    final class Flaky: Sendable {
        private let failures: Int
        private let attempts = Mutex(0)

        init(failing failures: Int) {
            self.failures = failures
        }

        var attemptCount: Int { attempts.withLock { $0 } }

        func attempt() throws -> String {
            let attempt = attempts.withLock { attempts in
                attempts += 1
                return attempts
            }
            if attempt <= failures { throw Refused(attempt: attempt) }
            return "done"
        }
    }

    /// What the loop told the failure hook.
    final class Told: Sendable {
        private let failures = Mutex<[(attempt: Int, error: Refused?, retryIn: Duration)]>([])

        func record(_ failure: RetryLoop<ManualClock>.Failure) {
            failures.withLock { $0.append((failure.attempt, failure.error as? Refused, failure.retryIn)) }
        }

        var attempts: [Int] { failures.withLock { $0.map(\.attempt) } }
        var errors: [Refused?] { failures.withLock { $0.map(\.error) } }
        var delays: [Duration] { failures.withLock { $0.map(\.retryIn) } }
    }

    /// 100 ms doubling, no jitter: the waits are exact.
    static let backoff = ExponentialBackoff(
        initialDelay: .milliseconds(100), multiplier: 2, maximumDelay: .seconds(1), jitter: 0)

    @Test func aFirstAttemptThatSucceedsReturnsWithoutWaitingOrTelling() async throws {
        let clock = ManualClock()
        let flaky = Flaky(failing: 0)
        let told = Told()
        let result = try await RetryLoop(backoff: Self.backoff, clock: clock).run(onFailure: told.record) {
            try flaky.attempt()
        }
        #expect(result == "done")
        #expect(flaky.attemptCount == 1)
        #expect(told.attempts.isEmpty)
        #expect(clock.now == ManualClock.Instant(sinceStart: .zero))
    }

    @Test func eachFailureWaitsTheBackoffsNextDelayOnTheClockBeforeTheNextAttempt() async throws {
        let clock = ManualClock()
        let flaky = Flaky(failing: 2)
        let told = Told()
        let running = Task {
            try await RetryLoop(backoff: Self.backoff, clock: clock).run(onFailure: told.record) { try flaky.attempt() }
        }
        await clock.waitForSleep(until: clock.now.advanced(by: .milliseconds(100)))
        #expect(flaky.attemptCount == 1)
        clock.advance(by: .milliseconds(99))
        // Not yet due: the second attempt has not been made.
        #expect(clock.sleepDeadlines == [ManualClock.Instant(sinceStart: .milliseconds(100))])
        #expect(flaky.attemptCount == 1)
        clock.advance(by: .milliseconds(1))
        await clock.waitForSleep(until: ManualClock.Instant(sinceStart: .milliseconds(300)))
        #expect(flaky.attemptCount == 2)
        clock.advance(by: .milliseconds(200))
        #expect(try await running.value == "done")
        #expect(flaky.attemptCount == 3)
        #expect(told.attempts == [1, 2])
        #expect(told.errors == [Refused(attempt: 1), Refused(attempt: 2)])
        #expect(told.delays == [.milliseconds(100), .milliseconds(200)])
    }

    @Test func theJitterDrawShortensTheWait() async throws {
        let clock = ManualClock()
        let flaky = Flaky(failing: 1)
        let told = Told()
        var jittered = Self.backoff
        jittered.jitter = 0.2
        let running = Task {
            try await RetryLoop(backoff: jittered, clock: clock, random: { 0.5 }).run(onFailure: told.record) {
                try flaky.attempt()
            }
        }
        await clock.waitForSleep(until: clock.now.advanced(by: .milliseconds(90)))
        clock.advance(by: .milliseconds(90))
        #expect(try await running.value == "done")
        #expect(told.delays == [.milliseconds(90)])
    }

    @Test func anErrorNoRetryHelpsIsThrownAtOnce() async throws {
        let clock = ManualClock()
        let flaky = Flaky(failing: 5)
        let told = Told()
        await #expect(throws: Refused(attempt: 1)) {
            try await RetryLoop(backoff: Self.backoff, clock: clock).run(
                isRetriable: { _ in false }, onFailure: told.record
            ) { try flaky.attempt() }
        }
        #expect(flaky.attemptCount == 1)
        #expect(told.attempts.isEmpty)
    }

    @Test func onlyTheErrorsTheCallerCallsRetriableAreRetried() async throws {
        let clock = ManualClock()
        let flaky = Flaky(failing: 5)
        let told = Told()
        let running = Task {
            try await RetryLoop(backoff: Self.backoff, clock: clock).run(
                isRetriable: { ($0 as? Refused)?.attempt == 1 }, onFailure: told.record
            ) { try flaky.attempt() }
        }
        await clock.waitForSleep(until: clock.now.advanced(by: .milliseconds(100)))
        clock.advance(by: .milliseconds(100))
        await #expect(throws: Refused(attempt: 2)) { try await running.value }
        #expect(told.attempts == [1])
    }

    @Test func whenTheNextWaitWouldReachTheDeadlineTheLastErrorIsThrown() async throws {
        let clock = ManualClock()
        let flaky = Flaky(failing: 5)
        let told = Told()
        // 100 ms fits before the deadline; the 200 ms after it would end at 300 ms.
        let deadline = clock.now.advanced(by: .milliseconds(250))
        let running = Task {
            try await RetryLoop(backoff: Self.backoff, clock: clock).run(until: deadline, onFailure: told.record) {
                try flaky.attempt()
            }
        }
        await clock.waitForSleep(until: clock.now.advanced(by: .milliseconds(100)))
        clock.advance(by: .milliseconds(100))
        await #expect(throws: Refused(attempt: 2)) { try await running.value }
        #expect(flaky.attemptCount == 2)
        #expect(told.attempts == [1])
        #expect(clock.sleepDeadlines.isEmpty)
    }

    @Test func aCallerThatIsStoppingIsToldOfTheFailureAndNotMadeToWait() async throws {
        let clock = ManualClock()
        let flaky = Flaky(failing: 5)
        let told = Told()
        await #expect(throws: CancellationError.self) {
            try await RetryLoop(backoff: Self.backoff, clock: clock).run(
                stopWhen: { true }, onFailure: told.record
            ) { try flaky.attempt() }
        }
        #expect(flaky.attemptCount == 1)
        #expect(told.attempts == [1])
    }

    @Test func aStopThatComesDuringTheWaitPreventsTheNextAttempt() async throws {
        let clock = ManualClock()
        let flaky = Flaky(failing: 5)
        let stopping = Mutex(false)
        let running = Task {
            try await RetryLoop(backoff: Self.backoff, clock: clock).run(
                stopWhen: { stopping.withLock { $0 } }, onFailure: { _ in }
            ) { try flaky.attempt() }
        }
        await clock.waitForSleep(until: clock.now.advanced(by: .milliseconds(100)))
        stopping.withLock { $0 = true }
        clock.advance(by: .milliseconds(100))
        await #expect(throws: CancellationError.self) { try await running.value }
        #expect(flaky.attemptCount == 1)
    }

    @Test func cancellingTheTaskEndsTheWaitWithCancellationError() async throws {
        let clock = ManualClock()
        let flaky = Flaky(failing: 5)
        let running = Task {
            try await RetryLoop(backoff: Self.backoff, clock: clock).run(onFailure: { _ in }) { try flaky.attempt() }
        }
        await clock.waitForSleep(until: clock.now.advanced(by: .milliseconds(100)))
        running.cancel()
        await #expect(throws: CancellationError.self) { try await running.value }
        #expect(flaky.attemptCount == 1)
        #expect(clock.sleepDeadlines.isEmpty)
    }

    @Test func aCallersOwnWaitIsUsedInsteadOfTheClocksSleep() async throws {
        let clock = ManualClock()
        let flaky = Flaky(failing: 2)
        let waited = Mutex<[Duration]>([])
        let result = try await RetryLoop(backoff: Self.backoff, clock: clock).run(
            waitingWith: { delay in waited.withLock { $0.append(delay) } }, onFailure: { _ in }
        ) { try flaky.attempt() }
        #expect(result == "done")
        #expect(waited.withLock { $0 } == [.milliseconds(100), .milliseconds(200)])
        #expect(clock.now == ManualClock.Instant(sinceStart: .zero))
    }

    @Test func theDelayCountRestartsWithEachRun() async throws {
        let clock = ManualClock()
        let told = Told()
        let loop = RetryLoop(backoff: Self.backoff, clock: clock)
        for _ in 1...2 {
            let flaky = Flaky(failing: 1)
            _ = try await loop.run(waitingWith: { _ in }, onFailure: told.record) { try flaky.attempt() }
        }
        #expect(told.delays == [.milliseconds(100), .milliseconds(100)])
    }
}
