import ReminderStoreTesting
import Testing

@testable import NotificationService

/// The wake-up the dispatcher and the status relay wait on instead of a fixed interval.
@Suite(.timeLimit(.minutes(1))) struct WakeSignalTests {
    /// A task waiting on `signal` for up to a minute, once its timer runs.
    private static func waiting(on signal: WakeSignal, _ clock: ManualClock) async -> Task<Void, Never> {
        let waiting = Task { await signal.wait(timeout: .seconds(60), on: clock) }
        await clock.waitForSleep(until: ManualClock.Instant(sinceStart: .seconds(60)))
        return waiting
    }

    @Test func aSignalWhileNobodyWaitsEndsTheNextWaitAtOnceAndOnlyThatOne() async {
        let signal = WakeSignal()
        let clock = ManualClock()
        signal.signal()
        signal.signal()
        await signal.wait(timeout: .seconds(60), on: clock)
        // The two signals were kept as one: this wait lasts until its timeout.
        let waiting = await Self.waiting(on: signal, clock)
        clock.advance(by: .seconds(60))
        await waiting.value
        #expect(clock.now == ManualClock.Instant(sinceStart: .seconds(60)))
    }

    @Test func aSignalEndsAWaitBeforeItsTimeout() async {
        let signal = WakeSignal()
        let clock = ManualClock()
        let waiting = await Self.waiting(on: signal, clock)
        signal.signal()
        await waiting.value
        #expect(clock.now == ManualClock.Instant(sinceStart: .zero))
    }

    /// A relay or dispatcher whose task is cancelled stops waiting: the clock does not move.
    @Test func aCancelledWaitEnds() async {
        let signal = WakeSignal()
        let clock = ManualClock()
        let waiting = await Self.waiting(on: signal, clock)
        waiting.cancel()
        await waiting.value
        let cancelledFirst = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await signal.wait(timeout: .seconds(60), on: clock)
        }
        await cancelledFirst.value
        #expect(clock.now == ManualClock.Instant(sinceStart: .zero))
    }
}
