import Foundation
import Logging
import ReminderCore
import ReminderStore
import ReminderStoreTesting
import Synchronization
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
