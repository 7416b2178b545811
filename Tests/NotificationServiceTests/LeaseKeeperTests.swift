import Foundation
import Logging
import ReminderCore
import ReminderStore
import ReminderStoreTesting
import Synchronization
import TestSupport
import Testing

@testable import NotificationService

/// Leases of sends in hand are renewed; leases that ran out are taken over only after a
/// whole lease of reaching the database. Over the in-memory store on a manual clock.
@Suite(.timeLimit(.minutes(6))) struct LeaseKeeperTests {
    final class WallClock: Sendable {
        private let current = Mutex(Date())
        var now: Date { current.withLock { $0 } }
        func advance(by seconds: TimeInterval) { current.withLock { $0.addTimeInterval(seconds) } }
    }

    static func keeper(_ time: ManualClock, _ wall: WallClock) -> LeaseKeeper<ManualClock> {
        var logger = Logger(label: "lease-unit")
        logger.logLevel = .critical
        return LeaseKeeper(lease: .seconds(60), clock: time, now: { wall.now }, logger: logger)
    }

    /// Lets one renewal run: the keeper sleeps a quarter lease between them.
    static func renewal(_ time: ManualClock, _ round: Int) async {
        await time.waitForSleep(until: ManualClock.Instant(sinceStart: .seconds(15 * round)))
        time.advance(by: .seconds(15))
    }

    @Test func aHeldLeaseIsRenewedEveryQuarterLeaseUntilReleased() async throws {
        let (wall, time) = (WallClock(), ManualClock())
        let store = MemoryDispatchStore(now: { wall.now })
        let id = store.schedule(reminderID: "r", channels: "[]", content: "{}", dueAt: wall.now)
        let keeper = Self.keeper(time, wall)
        keeper.hold(try await store.claim(limit: 1, lease: .seconds(60), takingOver: false))
        let renewing = Task { await keeper.run(store: store) }
        defer { renewing.cancel() }
        for round in 1...3 {
            wall.advance(by: 50)
            await Self.renewal(time, round)
            await time.waitForSleep(until: ManualClock.Instant(sinceStart: .seconds(15 * (round + 1))))
            #expect(store.reminder(id)?.leaseUntil == wall.now.addingTimeInterval(60), "round \(round)")
        }
        // 150 s after the claim, its lease is still its own: no claim takes it over.
        #expect(try await store.claim(limit: 1, lease: .seconds(60), takingOver: true).isEmpty)
        keeper.release(id)
        #expect(keeper.held.isEmpty)
    }

    /// A store whose renewal first runs `meanwhile`: what happens while the statement is
    /// on its way.
    struct RenewalWithSomethingMeanwhile: DispatchStoring {
        let store: MemoryDispatchStore
        let meanwhile: @Sendable () async -> Void

        func claim(limit: Int, lease: Duration, takingOver: Bool) async throws(StoreError) -> [DispatchStore.Claimed] {
            try await store.claim(limit: limit, lease: lease, takingOver: takingOver)
        }

        func renew(_ leases: [DispatchStore.Lease], lease: Duration) async throws(StoreError) -> Set<Int64> {
            await meanwhile()
            return try await store.renew(leases, lease: lease)
        }

        func nextDueTime() async throws(StoreError) -> Date? { try await store.nextDueTime() }

        func complete(_ completions: [DispatchStore.Completion]) async throws(StoreError)
            -> DispatchStore.CompletionReport
        {
            try await store.complete(completions)
        }
    }

    /// The recorded reminder's sender releases it while the renewal runs, or only after
    /// the renewal has come back (it handed the outcome to the recorder before).
    @Test(arguments: [true, false])
    func aLeaseWhoseOutcomeIsRecordedDuringTheRenewalIsNotReportedLost(releasedMeanwhile: Bool) async throws {
        let (wall, time) = (WallClock(), ManualClock())
        let store = MemoryDispatchStore(now: { wall.now })
        let recorded = store.schedule(reminderID: "recorded", channels: "[]", content: "{}", dueAt: wall.now)
        let takenOver = store.schedule(reminderID: "taken-over", channels: "[]", content: "{}", dueAt: wall.now)
        let log = CapturedLog()
        let keeper = LeaseKeeper(
            lease: .seconds(60), clock: time, now: { wall.now }, logger: log.logger("lease-unit", level: .warning))
        let claims = try await store.claim(limit: 2, lease: .seconds(60), takingOver: false)
        #expect(Set(claims.map(\.id)) == [recorded, takenOver])
        keeper.hold(claims)
        // While the renewal is on its way, one outcome is recorded and released, and
        // another sender takes the other reminder over (this one stopped renewing for
        // longer than a lease).
        let once = Mutex(false)
        let renewing = RenewalWithSomethingMeanwhile(store: store) {
            let first = once.withLock { done in
                defer { done = true }
                return !done
            }
            guard first else { return }
            guard let claim = claims.first(where: { $0.id == recorded }) else {
                Issue.record("the recorded reminder was not claimed")
                return
            }
            keeper.recording(recorded)
            let report = try? await store.complete([
                DispatchStore.Completion(
                    id: claim.id, attempt: claim.attempt, result: .delivered,
                    progress: ChannelProgress(channelCount: 0), errorClass: nil, channelAttempts: [])
            ])
            #expect(report?.notRecorded.isEmpty == true)
            if releasedMeanwhile { keeper.release(recorded) }
            wall.advance(by: 61)
            let other = try? await store.claim(limit: 1, lease: .seconds(60), takingOver: true)
            #expect(other?.map(\.id) == [takenOver])
        }
        let running = Task { await keeper.run(store: renewing) }
        defer { running.cancel() }
        await Self.renewal(time, 1)
        // The renewal's own limit sleeps on the same clock: waiting for a sleeper does not
        // say it has ended; its warning does (at most 10 s of real time).
        var lost: [[String: Any]] = []
        for _ in 0..<1_000 where lost.isEmpty {
            try await Task.sleep(for: .milliseconds(10))
            lost = log.records.filter { ($0["message"] as? String)?.hasPrefix("leases lost") == true }
        }
        #expect(lost.map { $0["count"] as? String } == ["1"])
        keeper.release(recorded)
        #expect(keeper.held.map(\.id) == [takenOver])
    }

    @Test func takingOverWaitsForAWholeLeaseOfReachingTheDatabaseAndAFailureStartsItOver() {
        let (wall, time) = (WallClock(), ManualClock())
        let keeper = Self.keeper(time, wall)
        #expect(!keeper.mayTakeOver)
        keeper.observe(reached: true)
        wall.advance(by: 59)
        keeper.observe(reached: true)
        #expect(!keeper.mayTakeOver)
        wall.advance(by: 1)
        #expect(keeper.mayTakeOver)
        // An outage: after it, a whole lease again, however long ago the first contact was.
        keeper.observe(reached: false)
        #expect(!keeper.mayTakeOver)
        wall.advance(by: 600)
        keeper.observe(reached: true)
        wall.advance(by: 59)
        #expect(!keeper.mayTakeOver)
        wall.advance(by: 1)
        #expect(keeper.mayTakeOver)
    }
}
