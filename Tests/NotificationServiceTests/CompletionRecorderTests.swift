import Foundation
import Logging
import ReminderCore
import ReminderStore
import ReminderStoreTesting
import Testing

@testable import NotificationService

/// The dispatcher's group commit over the in-memory store and a manual clock: outcomes
/// are recorded as `CompletionPlanner` plans them, a failing store is retried after the
/// backoff's delays and kept until the store takes it; only a shutdown gives outcomes up.
@Suite(.timeLimit(.minutes(6))) struct CompletionRecorderTests {
    static let channels = #"[{"type":"email","to":"person@example.com"}]"#
    static let content = #"{"title":"Dentist","body":"Tomorrow at nine"}"#
    /// 100 ms doubling, no jitter: the waits are exact.
    static let backoff = ExponentialBackoff(
        initialDelay: .milliseconds(100), multiplier: 2, maximumDelay: .seconds(5), jitter: 0)

    static func recorder(_ store: MemoryDispatchStore, clock: ManualClock) -> CompletionRecorder<ManualClock> {
        var logger = Logger(label: "recorder-unit")
        logger.logLevel = .critical
        return CompletionRecorder(
            store: store, maximumBatch: 2, retry: RetryLoop(backoff: backoff, clock: clock),
            statementLimit: .seconds(10), logger: logger)
    }

    /// Claimed reminders, each waiting for the outcome of its first attempt.
    static func claimed(_ count: Int, in store: MemoryDispatchStore) async throws -> [DispatchStore.Claimed] {
        for index in 1...count {
            store.schedule(
                reminderID: "r-\(index)", channels: channels, content: content, dueAt: Date().addingTimeInterval(-1))
        }
        return try await store.claim(limit: count, lease: .seconds(60))
    }

    static func delivered(_ claimed: DispatchStore.Claimed, attempt: Int? = nil) -> DispatchStore.Completion {
        DispatchStore.Completion(
            id: claimed.id, attempt: attempt ?? claimed.attempt, result: .delivered,
            progress: ChannelProgress(channelCount: 1), errorClass: nil, channelAttempts: [])
    }

    @Test func outcomesRecordedTogetherEachReachTheirCallerAsTheStoreDecided() async throws {
        let store = MemoryDispatchStore()
        let recorder = Self.recorder(store, clock: ManualClock())
        let claimed = try await Self.claimed(3, in: store)
        // The third one's claim is no longer its own: the recorded attempt is not the store's.
        let completions = [
            Self.delivered(claimed[0]), Self.delivered(claimed[1]), Self.delivered(claimed[2], attempt: 7),
        ]
        let recordings = await withTaskGroup(of: (Int64, CompletionRecorder<ManualClock>.Recording).self) { group in
            for completion in completions {
                group.addTask { (completion.id, await recorder.record(completion)) }
            }
            return await group.reduce(into: [Int64: CompletionRecorder<ManualClock>.Recording]()) { $0[$1.0] = $1.1 }
        }
        #expect(recordings == [claimed[0].id: .recorded, claimed[1].id: .recorded, claimed[2].id: .leaseLost])
        #expect(store.reminder(claimed[0].id)?.state == .delivered)
        #expect(store.reminder(claimed[1].id)?.state == .delivered)
        #expect(store.reminder(claimed[2].id)?.state == .sending)
    }

    @Test func aFailingStoreIsTriedAgainAfterEachOfTheBackoffsDelays() async throws {
        let store = MemoryDispatchStore()
        let clock = ManualClock()
        let recorder = Self.recorder(store, clock: clock)
        let claimed = try await Self.claimed(1, in: store)
        store.failNext(2)
        let recording = Task { await recorder.record(Self.delivered(claimed[0])) }
        await clock.waitForSleep(until: ManualClock.Instant(sinceStart: .milliseconds(100)))
        #expect(store.reminder(claimed[0].id)?.state == .sending)
        clock.advance(by: .milliseconds(100))
        await clock.waitForSleep(until: ManualClock.Instant(sinceStart: .milliseconds(300)))
        #expect(store.reminder(claimed[0].id)?.state == .sending)
        clock.advance(by: .milliseconds(200))
        #expect(await recording.value == .recorded)
        #expect(store.reminder(claimed[0].id)?.state == .delivered)
    }

    @Test func anOutcomeIsKeptWhileTheStoreFailsAndRecordedWhenItAnswers() async throws {
        let store = MemoryDispatchStore()
        let clock = ManualClock()
        let recorder = Self.recorder(store, clock: clock)
        let claimed = try await Self.claimed(1, in: store)
        store.failNext(6)
        let recording = Task { await recorder.record(Self.delivered(claimed[0])) }
        // 100, 200, 400, 800, 1,600 and 3,200 ms: far past any give-up a running
        // dispatcher used to have; the outcome is still held.
        var waited: Duration = .zero
        for wait in [100, 200, 400, 800, 1_600, 3_200].map(Duration.milliseconds) {
            waited += wait
            await clock.waitForSleep(until: ManualClock.Instant(sinceStart: waited))
            #expect(await recorder.isFailing)
            #expect(store.reminder(claimed[0].id)?.state == .sending)
            clock.advance(by: wait)
        }
        #expect(await recording.value == .recorded)
        #expect(await !recorder.isFailing)
        #expect(store.reminder(claimed[0].id)?.state == .delivered)
    }

    @Test func onceAShutdownSetsALimitAnOutcomeTheStoreDoesNotTakeIsGivenUp() async throws {
        let store = MemoryDispatchStore()
        let clock = ManualClock()
        let recorder = Self.recorder(store, clock: clock)
        let claimed = try await Self.claimed(1, in: store)
        store.failNext(10)
        let recording = Task { await recorder.record(Self.delivered(claimed[0])) }
        await clock.waitForSleep(until: ManualClock.Instant(sinceStart: .milliseconds(100)))
        await recorder.giveUp(after: .milliseconds(250))
        clock.advance(by: .milliseconds(100))
        await clock.waitForSleep(until: ManualClock.Instant(sinceStart: .milliseconds(300)))
        clock.advance(by: .milliseconds(200))
        #expect(await recording.value == .failed)
        #expect(store.reminder(claimed[0].id)?.state == .sending)
    }

    @Test func anOutcomeAPendingCancelDecidedSaysSo() async throws {
        let store = MemoryDispatchStore()
        let recorder = Self.recorder(store, clock: ManualClock())
        let claimed = try await Self.claimed(1, in: store)
        #expect(store.deferCancel(of: claimed[0].id))
        let failed = DispatchStore.Completion(
            id: claimed[0].id, attempt: claimed[0].attempt, result: .retry(after: .seconds(1)),
            progress: ChannelProgress(channelCount: 1), errorClass: "http_503", channelAttempts: [])
        #expect(await recorder.record(failed) == .changed(.cancel))
        #expect(store.reminder(claimed[0].id)?.state == .cancelled)
    }
}
