import Delivery
import Foundation
import Logging
import NotificationService
import ReminderCore
import ReminderStore
import ReminderStoreTesting
import Synchronization
import Testing

/// The dispatcher's logic over the in-memory store and a provider in the test's own
/// process: no database, broker or network. The PostgreSQL store's own behaviour is
/// covered by ReminderStoreIntegrationTests, and the whole path by DispatcherTests.
@Suite struct DispatcherWithoutDatabaseTests {
    static let channels = #"[{"type":"email","to":"person@example.com"}]"#
    static let content = #"{"title":"Dentist","body":"Tomorrow at nine"}"#
    /// Retries an hour apart: only a moved clock gets there within a test.
    static let hourly = RetryPolicy(
        initialDelay: .seconds(3_600), multiplier: 1, maximumDelay: .seconds(3_600), maximumAttempts: 3, jitter: 0)

    /// Answers each send with the next of its answers (the last one repeats) and keeps
    /// what it was asked to send.
    final class ScriptedProvider: NotificationProvider {
        let name = "scripted"
        private let script: Mutex<(answers: [DeliveryFailure?], sent: [DeliveryRequest])>

        /// `answers`: nil delivers, a failure fails.
        init(_ answers: [DeliveryFailure?]) {
            script = Mutex((answers, []))
        }

        var sent: [DeliveryRequest] { script.withLock { $0.sent } }

        func send(_ request: DeliveryRequest) async throws(DeliveryFailure) -> DeliveryReceipt {
            let answer = script.withLock { script -> DeliveryFailure? in
                script.sent.append(request)
                return script.answers.count > 1 ? script.answers.removeFirst() : script.answers.first ?? nil
            }
            if let answer { throw answer }
            return DeliveryReceipt(answer: "250 accepted")
        }
    }

    /// A wall clock that moves only when the test moves it, shared by the store and the
    /// dispatcher: hours pass in an instant.
    final class WallClock: Sendable {
        private let current = Mutex(Date())

        var now: Date { current.withLock { $0 } }

        func advance(by seconds: TimeInterval) {
            current.withLock { $0.addTimeInterval(seconds) }
        }
    }

    /// A dispatcher over `store` sending email through `provider`, running until `body`
    /// returns.
    static func dispatching(
        _ store: MemoryDispatchStore, through provider: ScriptedProvider, clock: WallClock? = nil,
        retry: RetryPolicy = RetryPolicy(
            initialDelay: .milliseconds(20), multiplier: 1, maximumDelay: .milliseconds(20), maximumAttempts: 3,
            jitter: 0),
        _ body: () async throws -> Void
    ) async throws {
        var logger = Logger(label: "dispatcher-unit")
        logger.logLevel = .warning
        let directory = ProviderDirectory(
            email: GuardedProvider(
                provider: provider,
                breaker: .init(failureThreshold: 1_000, openDuration: .seconds(1), halfOpenProbes: 1), rateLimit: nil),
            defaultRetryPolicy: retry)
        let dispatcher = Dispatcher(
            store: store, deliverer: ReminderDeliverer(providers: directory, random: { 0.5 }), wakeups: nil,
            configuration: .init(
                concurrency: 4, claimBatch: 10, lease: .seconds(60), maximumIdle: .milliseconds(20),
                retry: ExponentialBackoff(initialDelay: .milliseconds(5), maximumDelay: .milliseconds(20), jitter: 0.2)),
            logger: logger, now: { clock?.now ?? Date() })
        let running = Task { await dispatcher.run() }
        defer { running.cancel() }
        try await body()
        running.cancel()
        await running.value
    }

    /// Waits (at most 10 s) until the reminder is in `state`.
    static func wait(for state: ReminderState, of id: Int64, in store: MemoryDispatchStore) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while store.reminder(id)?.state != state {
            guard ContinuousClock.now < deadline else {
                Issue.record("still \(store.reminder(id)?.state.rawValue ?? "missing"), expected \(state.rawValue)")
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test func aDueReminderIsSentOnceAndItsHistoryIsThePlannersSteps() async throws {
        let store = MemoryDispatchStore()
        let provider = ScriptedProvider([nil])
        let id = store.schedule(
            reminderID: "r-1", channels: Self.channels, content: Self.content, dueAt: Date().addingTimeInterval(-1))
        try await Self.dispatching(store, through: provider) {
            try await Self.wait(for: .delivered, of: id, in: store)
        }
        #expect(provider.sent.map(\.reminderID) == ["r-1"])
        #expect(provider.sent.first?.attempt == 1)
        #expect(
            store.reminder(id)?.history == [
                ReminderTransition(from: .pending, to: .scheduled, event: .schedule),
                ReminderTransition(from: .scheduled, to: .sending, event: .claim),
                ReminderTransition(from: .sending, to: .delivered, event: .deliver),
            ])
        #expect(store.reminder(id)?.channelAttempts.map(\.outcome) == [.delivered])
    }

    @Test func aTransientFailureIsRetriedAfterThePolicysDelayAndThenDelivered() async throws {
        let store = MemoryDispatchStore()
        let provider = ScriptedProvider([.transient("timeout", "no answer"), nil])
        let id = store.schedule(
            reminderID: "r-2", channels: Self.channels, content: Self.content, dueAt: Date().addingTimeInterval(-1))
        try await Self.dispatching(store, through: provider) {
            try await Self.wait(for: .delivered, of: id, in: store)
        }
        #expect(provider.sent.map(\.attempt) == [1, 2])
        #expect(
            store.reminder(id)?.history.map(\.event) == [
                .schedule, .claim, .fail, .scheduleRetry, .claim, .deliver,
            ])
        #expect(store.reminder(id)?.history[3].detail == "retry in 20 ms")
        #expect(store.reminder(id)?.channelAttempts.map(\.outcome) == [.transient, .delivered])
    }

    @Test func aPermanentFailureOnTheOnlyChannelDeadLettersTheReminder() async throws {
        let store = MemoryDispatchStore()
        let provider = ScriptedProvider([.permanent("rejected", "550 no such mailbox")])
        let id = store.schedule(
            reminderID: "r-3", channels: Self.channels, content: Self.content, dueAt: Date().addingTimeInterval(-1))
        try await Self.dispatching(store, through: provider) {
            try await Self.wait(for: .deadLetter, of: id, in: store)
        }
        #expect(provider.sent.count == 1)
        #expect(store.reminder(id)?.deadLetters == [.permanentFailure])
        #expect(store.reminder(id)?.history.suffix(2).map(\.to) == [.failed, .deadLetter])
    }

    @Test func transientFailuresUpToThePolicysAttemptsEndDeadLettered() async throws {
        let store = MemoryDispatchStore()
        let provider = ScriptedProvider([.transient("timeout", "no answer")])
        let id = store.schedule(
            reminderID: "r-4", channels: Self.channels, content: Self.content, dueAt: Date().addingTimeInterval(-1))
        try await Self.dispatching(store, through: provider) {
            try await Self.wait(for: .deadLetter, of: id, in: store)
        }
        #expect(provider.sent.map(\.attempt) == [1, 2, 3])
        #expect(store.reminder(id)?.deadLetters == [.deliveryExhausted])
    }

    @Test func anExpiredReminderIsDeadLetteredWithoutBeingSent() async throws {
        let store = MemoryDispatchStore()
        let provider = ScriptedProvider([nil])
        let id = store.schedule(
            reminderID: "r-5", channels: Self.channels, content: Self.content, dueAt: Date().addingTimeInterval(-10),
            expiresAt: Date().addingTimeInterval(-5))
        try await Self.dispatching(store, through: provider) {
            try await Self.wait(for: .deadLetter, of: id, in: store)
        }
        #expect(provider.sent.isEmpty)
        #expect(store.reminder(id)?.deadLetters == [.expired])
    }

    @Test func aDatabaseThatFailsForAWhileDelaysTheSendButLosesNothing() async throws {
        let store = MemoryDispatchStore()
        store.failNext(3)
        let provider = ScriptedProvider([nil])
        let id = store.schedule(
            reminderID: "r-6", channels: Self.channels, content: Self.content, dueAt: Date().addingTimeInterval(-1))
        try await Self.dispatching(store, through: provider) {
            try await Self.wait(for: .delivered, of: id, in: store)
        }
        #expect(provider.sent.count == 1)
    }

    @Test func aReminderDueLaterIsNotSentBeforeItsTime() async throws {
        let store = MemoryDispatchStore()
        let provider = ScriptedProvider([nil])
        let id = store.schedule(
            reminderID: "r-7", channels: Self.channels, content: Self.content, dueAt: Date().addingTimeInterval(3_600))
        try await Self.dispatching(store, through: provider) {
            // Several idle rounds of the claim loop (its longest sleep is 20 ms here).
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(provider.sent.isEmpty)
        #expect(store.reminder(id)?.state == .scheduled)
    }

    @Test func anOutcomeWhoseClaimWasTakenOverIsNotRecorded() async throws {
        var now = Date()
        let clock = Mutex(now)
        let store = MemoryDispatchStore(now: { clock.withLock { $0 } })
        let id = store.schedule(reminderID: "r-8", channels: Self.channels, content: Self.content, dueAt: now)
        let first = try await store.claim(limit: 10, lease: .seconds(30))
        #expect(first.map(\.attempt) == [1])
        now.addTimeInterval(31)
        clock.withLock { [now] in $0 = now }
        let second = try await store.claim(limit: 10, lease: .seconds(30))
        #expect(second.map(\.previousState) == [.sending])
        #expect(second.map(\.attempt) == [2])
        let late = DispatchStore.Completion(
            id: id, attempt: 1, result: .delivered, progress: ChannelProgress(channelCount: 1), errorClass: nil,
            channelAttempts: [])
        #expect(try await store.complete([late]) == [id])
        #expect(store.reminder(id)?.state == .sending)
    }

    @Test func aRetryAnHourAwayIsSentWhenTheClockGetsThereAndNotBefore() async throws {
        let clock = WallClock()
        let store = MemoryDispatchStore(now: { clock.now })
        let provider = ScriptedProvider([.transient("timeout", "no answer"), nil])
        let id = store.schedule(reminderID: "r-9", channels: Self.channels, content: Self.content, dueAt: clock.now)
        try await Self.dispatching(store, through: provider, clock: clock, retry: Self.hourly) {
            try await Self.wait(for: .retry, of: id, in: store)
            #expect(store.reminder(id)?.dueAt == clock.now.addingTimeInterval(3_600))
            // Idle rounds of the claim loop at the same wall time send nothing.
            try await Task.sleep(for: .milliseconds(100))
            #expect(provider.sent.count == 1)
            clock.advance(by: 3_600)
            try await Self.wait(for: .delivered, of: id, in: store)
        }
        #expect(provider.sent.map(\.attempt) == [1, 2])
    }

    @Test func aSenderThatStoppedRenewingIsTakenOverOnceItsLeaseRunsOut() async throws {
        let clock = WallClock()
        let store = MemoryDispatchStore(now: { clock.now })
        let provider = ScriptedProvider([nil])
        let id = store.schedule(reminderID: "r-10", channels: Self.channels, content: Self.content, dueAt: clock.now)
        // Another sender claims it and dies with the lease.
        let abandoned = try await store.claim(limit: 1, lease: .seconds(60))
        #expect(abandoned.map(\.id) == [id])
        try await Self.dispatching(store, through: provider, clock: clock) {
            try await Task.sleep(for: .milliseconds(100))
            #expect(provider.sent.isEmpty)
            clock.advance(by: 61)
            try await Self.wait(for: .delivered, of: id, in: store)
        }
        #expect(provider.sent.map(\.attempt) == [2])
        #expect(
            store.reminder(id)?.history.map(\.event) == [.schedule, .claim, .claim, .deliver])
        #expect(store.reminder(id)?.history[2].from == .sending)
        // The dead sender's outcome, if it ever came, would no longer be its to record.
        let late = DispatchStore.Completion(
            id: id, attempt: 1, result: .retry(after: .seconds(1)), progress: ChannelProgress(channelCount: 1),
            errorClass: nil, channelAttempts: [])
        #expect(try await store.complete([late]) == [id])
        #expect(store.reminder(id)?.state == .delivered)
    }

    @Test func aReminderThatExpiresWhileWaitingForItsRetryIsDeadLetteredUnsent() async throws {
        let clock = WallClock()
        let store = MemoryDispatchStore(now: { clock.now })
        let provider = ScriptedProvider([.transient("timeout", "no answer"), nil])
        let id = store.schedule(
            reminderID: "r-11", channels: Self.channels, content: Self.content, dueAt: clock.now,
            expiresAt: clock.now.addingTimeInterval(1_800))
        try await Self.dispatching(store, through: provider, clock: clock, retry: Self.hourly) {
            try await Self.wait(for: .retry, of: id, in: store)
            clock.advance(by: 3_600)
            try await Self.wait(for: .deadLetter, of: id, in: store)
        }
        #expect(provider.sent.count == 1)
        #expect(store.reminder(id)?.deadLetters == [.expired])
    }
}
