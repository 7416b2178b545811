import Delivery
import Foundation
import Logging
import NotificationService
import ReminderCore
import ReminderStore
import ReminderStoreTesting
import Synchronization
import Testing

/// The dispatcher's logic over the in-memory store, a provider in the test's own process
/// and a manual clock: no database, broker, network or real waiting. The PostgreSQL store's own behaviour is
/// covered by ReminderStoreIntegrationTests, and the whole path by DispatcherTests.
@Suite(.timeLimit(.minutes(6))) struct DispatcherWithoutDatabaseTests {
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
        /// Runs with each request before it is answered: what happens while it is in flight.
        private let whileSending: @Sendable (DeliveryRequest) -> Void

        /// `answers`: nil delivers, a failure fails.
        init(_ answers: [DeliveryFailure?], whileSending: @escaping @Sendable (DeliveryRequest) -> Void = { _ in }) {
            script = Mutex((answers, []))
            self.whileSending = whileSending
        }

        var sent: [DeliveryRequest] { script.withLock { $0.sent } }

        func send(_ request: DeliveryRequest) async throws(DeliveryFailure) -> DeliveryReceipt {
            let answer = script.withLock { script -> DeliveryFailure? in
                script.sent.append(request)
                return script.answers.count > 1 ? script.answers.removeFirst() : script.answers.first ?? nil
            }
            whileSending(request)
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

    /// The dispatcher's longest idle wait and its backoff: every wait of the claim loop
    /// lasts exactly this long on the manual clock while nothing falls due sooner.
    static let idle = Duration.milliseconds(20)

    /// A dispatcher over `store` sending email through `provider`, whose waits are on
    /// `time` and whose due times are read on `wall`, running until `body` returns.
    static func dispatching(
        _ store: MemoryDispatchStore, through provider: ScriptedProvider, wall: WallClock, time: ManualClock,
        retry: RetryPolicy = RetryPolicy(
            initialDelay: .milliseconds(20), multiplier: 1, maximumDelay: .milliseconds(20), maximumAttempts: 3,
            jitter: 0),
        recordBatch: Int = 500,
        _ body: () async throws -> Void
    ) async throws {
        var logger = Logger(label: "dispatcher-unit")
        logger.logLevel = .critical
        let directory = ProviderDirectory(
            email: [
                GuardedProvider(
                    provider: provider,
                    breaker: .init(failureThreshold: 1_000, openDuration: .seconds(1), halfOpenProbes: 1),
                    rateLimit: nil)
            ],
            defaultRetryPolicy: retry)
        let dispatcher = Dispatcher(
            store: store, deliverer: ReminderDeliverer(providers: directory, random: { 0.5 }), wakeups: nil,
            configuration: .init(
                concurrency: 4, claimBatch: 10, lease: .seconds(60), maximumIdle: idle, recordBatch: recordBatch,
                retry: ExponentialBackoff(initialDelay: idle, maximumDelay: idle, jitter: 0)),
            logger: logger, now: { wall.now }, clock: time)
        let running = Task { await dispatcher.run() }
        defer { running.cancel() }
        try await body()
        running.cancel()
        await running.value
    }

    /// Lets the dispatcher's waits run out one after another, each once the claim loop
    /// (or its backoff) has begun it, until `condition` holds; at most `rounds` of them.
    /// No real time passes: each round moves the manual clock by `idle`, so a database
    /// call's own time limit (seconds) never runs out under it.
    static func drive(
        _ time: ManualClock, rounds: Int = 200, until condition: () -> Bool = { false }
    ) async {
        for _ in 0..<rounds {
            if condition() { return }
            await time.waitForSleep(until: time.now.advanced(by: idle))
            time.advance(by: idle)
        }
    }

    /// Drives the dispatcher until the reminder is in `state`.
    static func drive(
        _ time: ManualClock, until state: ReminderState, of id: Int64, in store: MemoryDispatchStore
    ) async {
        await drive(time) { store.reminder(id)?.state == state }
        #expect(store.reminder(id)?.state == state, "still \(store.reminder(id)?.state.rawValue ?? "missing")")
    }

    @Test func aDueReminderIsSentOnceAndItsHistoryIsThePlannersSteps() async throws {
        let (wall, time) = (WallClock(), ManualClock())
        let store = MemoryDispatchStore(now: { wall.now })
        let provider = ScriptedProvider([nil])
        let id = store.schedule(
            reminderID: "r-1", channels: Self.channels, content: Self.content, dueAt: wall.now.addingTimeInterval(-1))
        try await Self.dispatching(store, through: provider, wall: wall, time: time) {
            await Self.drive(time, until: .delivered, of: id, in: store)
            // Idle rounds after it send nothing more.
            await Self.drive(time, rounds: 5)
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
        let (wall, time) = (WallClock(), ManualClock())
        let store = MemoryDispatchStore(now: { wall.now })
        let provider = ScriptedProvider([.transient("timeout", "no answer"), nil])
        let id = store.schedule(reminderID: "r-2", channels: Self.channels, content: Self.content, dueAt: wall.now)
        try await Self.dispatching(store, through: provider, wall: wall, time: time) {
            await Self.drive(time, until: .retry, of: id, in: store)
            let wait = store.reminder(id).map { $0.dueAt.timeIntervalSince(wall.now) }
            #expect(wait.map { abs($0 - 0.020) < 0.000_001 } == true, "due \(wait ?? -1) s after the failure")
            wall.advance(by: 0.020)
            await Self.drive(time, until: .delivered, of: id, in: store)
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
        let (wall, time) = (WallClock(), ManualClock())
        let store = MemoryDispatchStore(now: { wall.now })
        let provider = ScriptedProvider([.permanent("rejected", "550 no such mailbox")])
        let id = store.schedule(reminderID: "r-3", channels: Self.channels, content: Self.content, dueAt: wall.now)
        try await Self.dispatching(store, through: provider, wall: wall, time: time) {
            await Self.drive(time, until: .deadLetter, of: id, in: store)
        }
        #expect(provider.sent.count == 1)
        #expect(store.reminder(id)?.deadLetters == [.permanentFailure])
        #expect(store.reminder(id)?.history.suffix(2).map(\.to) == [.failed, .deadLetter])
    }

    @Test func transientFailuresUpToThePolicysAttemptsEndDeadLettered() async throws {
        let (wall, time) = (WallClock(), ManualClock())
        let store = MemoryDispatchStore(now: { wall.now })
        let provider = ScriptedProvider([.transient("timeout", "no answer")])
        let id = store.schedule(reminderID: "r-4", channels: Self.channels, content: Self.content, dueAt: wall.now)
        try await Self.dispatching(store, through: provider, wall: wall, time: time) {
            for attempt in 1...2 {
                await Self.drive(time) { provider.sent.count == attempt && store.reminder(id)?.state == .retry }
                #expect(store.reminder(id)?.state == .retry)
                wall.advance(by: 0.020)
            }
            await Self.drive(time, until: .deadLetter, of: id, in: store)
        }
        #expect(provider.sent.map(\.attempt) == [1, 2, 3])
        #expect(store.reminder(id)?.deadLetters == [.deliveryExhausted])
    }

    @Test func anExpiredReminderIsDeadLetteredWithoutBeingSent() async throws {
        let (wall, time) = (WallClock(), ManualClock())
        let store = MemoryDispatchStore(now: { wall.now })
        let provider = ScriptedProvider([nil])
        let id = store.schedule(
            reminderID: "r-5", channels: Self.channels, content: Self.content, dueAt: wall.now.addingTimeInterval(-10),
            expiresAt: wall.now.addingTimeInterval(-5))
        try await Self.dispatching(store, through: provider, wall: wall, time: time) {
            await Self.drive(time, until: .deadLetter, of: id, in: store)
        }
        #expect(provider.sent.isEmpty)
        #expect(store.reminder(id)?.deadLetters == [.expired])
    }

    @Test func aDatabaseThatFailsForAWhileDelaysTheSendButLosesNothing() async throws {
        let (wall, time) = (WallClock(), ManualClock())
        let store = MemoryDispatchStore(now: { wall.now })
        store.failNext(3)
        let provider = ScriptedProvider([nil])
        let id = store.schedule(reminderID: "r-6", channels: Self.channels, content: Self.content, dueAt: wall.now)
        try await Self.dispatching(store, through: provider, wall: wall, time: time) {
            // Each failed claim waits out the backoff before the next.
            await Self.drive(time, rounds: 2)
            #expect(provider.sent.isEmpty)
            await Self.drive(time, until: .delivered, of: id, in: store)
        }
        #expect(provider.sent.count == 1)
    }

    @Test func anOutcomeTheDatabaseCannotTakeIsKeptRecordedFirstAndNothingIsSentTwice() async throws {
        let (wall, time) = (WallClock(), ManualClock())
        let store = MemoryDispatchStore(now: { wall.now })
        // The database goes away while the first send is in flight, for twice the lease.
        let provider = ScriptedProvider([nil]) { request in
            if request.reminderID == "r-a" {
                store.failNext(40)
                wall.advance(by: 120)
            }
        }
        let first = store.schedule(reminderID: "r-a", channels: Self.channels, content: Self.content, dueAt: wall.now)
        try await Self.dispatching(store, through: provider, wall: wall, time: time) {
            await Self.drive(time, until: .delivered, of: first, in: store)
            let second = store.schedule(
                reminderID: "r-b", channels: Self.channels, content: Self.content, dueAt: wall.now)
            await Self.drive(time, until: .delivered, of: second, in: store)
        }
        #expect(provider.sent.map(\.reminderID) == ["r-a", "r-b"])
        #expect(store.reminder(first)?.history.map(\.event) == [.schedule, .claim, .deliver])
    }

    @Test func whileTheDatabaseIsSlowToTakeOutcomesClaimingStopsAtTwoBatchesWaiting() async throws {
        let (wall, time) = (WallClock(), ManualClock())
        let store = MemoryDispatchStore(now: { wall.now })
        let provider = ScriptedProvider([nil])
        let ids = (1...40).map {
            store.schedule(reminderID: "r-\($0)", channels: Self.channels, content: Self.content, dueAt: wall.now)
        }
        store.holdCompletions()
        // Four sends at once, outcomes recorded two per statement: at most 4 + 2 × 2 are
        // sent before the database has taken one of them.
        try await Self.dispatching(store, through: provider, wall: wall, time: time, recordBatch: 2) {
            await Self.drive(time, rounds: 50)
            #expect(store.heldCompletions == 1)
            #expect(provider.sent.count >= 4)
            #expect(provider.sent.count <= 8)
            store.answerCompletions()
            // A budget, not a bound: it ends as soon as all are delivered. Each round sends
            // only what the two waiting batches let through, and in a fresh-clone run, every
            // suite at once on two cores, 200 rounds once ended with 36 of the 40 sent.
            await Self.drive(time, rounds: 2_000) { ids.allSatisfy { store.reminder($0)?.state == .delivered } }
        }
        #expect(ids.allSatisfy { store.reminder($0)?.state == .delivered })
        #expect(provider.sent.count == 40)
        #expect(Set(provider.sent.map(\.reminderID)).count == 40)
    }

    @Test func aCancelThatWaitedOnTheSendWinsOverItsFailureAndNothingIsSentAgain() async throws {
        let (wall, time) = (WallClock(), ManualClock())
        let store = MemoryDispatchStore(now: { wall.now })
        let id = Mutex<Int64?>(nil)
        let provider = ScriptedProvider([.transient("http_503", "HTTP 503")]) { _ in
            if let id = id.withLock({ $0 }) { store.deferCancel(of: id) }
        }
        id.withLock {
            $0 = store.schedule(reminderID: "r-c", channels: Self.channels, content: Self.content, dueAt: wall.now)
        }
        let reminder = try #require(id.withLock { $0 })
        try await Self.dispatching(store, through: provider, wall: wall, time: time) {
            await Self.drive(time, until: .cancelled, of: reminder, in: store)
            wall.advance(by: 3_600)
            await Self.drive(time, rounds: 20)
        }
        #expect(provider.sent.count == 1)
        #expect(
            store.reminder(reminder)?.history.map(\.event) == [.schedule, .claim, .cancel, .fail, .cancel])
    }

    @Test func aReminderDueLaterIsNotSentBeforeItsTime() async throws {
        let (wall, time) = (WallClock(), ManualClock())
        let store = MemoryDispatchStore(now: { wall.now })
        let provider = ScriptedProvider([nil])
        let id = store.schedule(
            reminderID: "r-7", channels: Self.channels, content: Self.content, dueAt: wall.now.addingTimeInterval(3_600)
        )
        try await Self.dispatching(store, through: provider, wall: wall, time: time) {
            await Self.drive(time, rounds: 20)
            #expect(provider.sent.isEmpty)
            #expect(store.reminder(id)?.state == .scheduled)
            wall.advance(by: 3_599)
            await Self.drive(time, rounds: 20)
            #expect(provider.sent.isEmpty)
            wall.advance(by: 1)
            await Self.drive(time, until: .delivered, of: id, in: store)
        }
        #expect(provider.sent.map(\.reminderID) == ["r-7"])
    }

    /// An instance that may take over (it has reached the database for a whole lease)
    /// loses that right with a failed claim: the claim retried once the database is back
    /// does not take over the leases that ran out while nobody could renew them, and only
    /// after another whole lease of reaching the database does it take the reminder over.
    /// The long-outage fault scenario sent duplicates when the retry kept the permission.
    @Test func aClaimRetriedThroughAnOutageDoesNotTakeOverWithThePermissionFromBeforeIt() async throws {
        let (wall, time) = (WallClock(), ManualClock())
        let store = MemoryDispatchStore(now: { wall.now })
        let provider = ScriptedProvider([nil])
        let other = store.schedule(reminderID: "r-o", channels: Self.channels, content: Self.content, dueAt: wall.now)
        // Another sender holds the reminder, with a lease of 90 s.
        _ = try await store.claim(limit: 1, lease: .seconds(90), takingOver: false)
        try await Self.dispatching(store, through: provider, wall: wall, time: time) {
            // This instance reaches the database; after its lease (60 s) it may take
            // over, but the other sender's lease still runs.
            await Self.drive(time, rounds: 3)
            wall.advance(by: 61)
            await Self.drive(time, rounds: 3)
            #expect(provider.sent.isEmpty)
            // The next claim fails; while it waits to be tried again the other sender's
            // lease runs out unrenewed (the database was away for everyone).
            store.failNext(1)
            await Self.drive(time, rounds: 1)
            wall.advance(by: 30)
            await Self.drive(time, rounds: 20)
            #expect(provider.sent.isEmpty)
            #expect(store.reminder(other)?.history.map(\.event) == [.schedule, .claim])
            // A whole lease of reaching the database later, it is taken over and sent.
            wall.advance(by: 61)
            await Self.drive(time, until: .delivered, of: other, in: store)
        }
        #expect(provider.sent.map(\.reminderID) == ["r-o"])
        #expect(store.reminder(other)?.history.map(\.event) == [.schedule, .claim, .claim, .deliver])
    }

    @Test func anOutcomeWhoseClaimWasTakenOverIsNotRecorded() async throws {
        let wall = WallClock()
        let store = MemoryDispatchStore(now: { wall.now })
        let id = store.schedule(reminderID: "r-8", channels: Self.channels, content: Self.content, dueAt: wall.now)
        let first = try await store.claim(limit: 10, lease: .seconds(30))
        #expect(first.map(\.attempt) == [1])
        wall.advance(by: 31)
        let second = try await store.claim(limit: 10, lease: .seconds(30))
        #expect(second.map(\.previousState) == [.sending])
        #expect(second.map(\.attempt) == [2])
        let late = DispatchStore.Completion(
            id: id, attempt: 1, result: .delivered, progress: ChannelProgress(channelCount: 1), errorClass: nil,
            channelAttempts: [])
        #expect(try await store.complete([late]).notRecorded == [id])
        #expect(store.reminder(id)?.state == .sending)
    }

    @Test func aRetryAnHourAwayIsSentWhenTheClockGetsThereAndNotBefore() async throws {
        let (wall, time) = (WallClock(), ManualClock())
        let store = MemoryDispatchStore(now: { wall.now })
        let provider = ScriptedProvider([.transient("timeout", "no answer"), nil])
        let id = store.schedule(reminderID: "r-9", channels: Self.channels, content: Self.content, dueAt: wall.now)
        try await Self.dispatching(store, through: provider, wall: wall, time: time, retry: Self.hourly) {
            await Self.drive(time, until: .retry, of: id, in: store)
            #expect(store.reminder(id)?.dueAt == wall.now.addingTimeInterval(3_600))
            // Idle rounds of the claim loop at the same wall time send nothing.
            await Self.drive(time, rounds: 20)
            #expect(provider.sent.count == 1)
            wall.advance(by: 3_600)
            await Self.drive(time, until: .delivered, of: id, in: store)
        }
        #expect(provider.sent.map(\.attempt) == [1, 2])
    }

    @Test func aSenderThatStoppedRenewingIsTakenOverOnceItsLeaseRunsOut() async throws {
        let (wall, time) = (WallClock(), ManualClock())
        let store = MemoryDispatchStore(now: { wall.now })
        let provider = ScriptedProvider([nil])
        let id = store.schedule(reminderID: "r-10", channels: Self.channels, content: Self.content, dueAt: wall.now)
        // Another sender claims it and dies with the lease.
        let abandoned = try await store.claim(limit: 1, lease: .seconds(60))
        #expect(abandoned.map(\.id) == [id])
        try await Self.dispatching(store, through: provider, wall: wall, time: time) {
            await Self.drive(time, rounds: 20)
            #expect(provider.sent.isEmpty)
            wall.advance(by: 61)
            await Self.drive(time, until: .delivered, of: id, in: store)
        }
        #expect(provider.sent.map(\.attempt) == [2])
        #expect(
            store.reminder(id)?.history.map(\.event) == [.schedule, .claim, .claim, .deliver])
        #expect(store.reminder(id)?.history[2].from == .sending)
        // The dead sender's outcome, if it ever came, would no longer be its to record.
        let late = DispatchStore.Completion(
            id: id, attempt: 1, result: .retry(after: .seconds(1)), progress: ChannelProgress(channelCount: 1),
            errorClass: nil, channelAttempts: [])
        #expect(try await store.complete([late]).notRecorded == [id])
        #expect(store.reminder(id)?.state == .delivered)
    }

    @Test func aReminderThatExpiresWhileWaitingForItsRetryIsDeadLetteredUnsent() async throws {
        let (wall, time) = (WallClock(), ManualClock())
        let store = MemoryDispatchStore(now: { wall.now })
        let provider = ScriptedProvider([.transient("timeout", "no answer"), nil])
        let id = store.schedule(
            reminderID: "r-11", channels: Self.channels, content: Self.content, dueAt: wall.now,
            expiresAt: wall.now.addingTimeInterval(1_800))
        try await Self.dispatching(store, through: provider, wall: wall, time: time, retry: Self.hourly) {
            await Self.drive(time, until: .retry, of: id, in: store)
            wall.advance(by: 3_600)
            await Self.drive(time, until: .deadLetter, of: id, in: store)
        }
        #expect(provider.sent.count == 1)
        #expect(store.reminder(id)?.deadLetters == [.expired])
    }
}
