import Foundation
import Logging
import ReminderStore
import ReminderStoreTesting
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing

@testable import NotificationService

/// The pruner ends on graceful shutdown whether it is sleeping between rounds or in a
/// round, so that `serve` exits promptly on SIGTERM. Over a store that counts rounds,
/// on a manual clock.
@Suite(.timeLimit(.minutes(6))) struct RetentionPrunerTests {
    final class CountingStore: RetentionPruning {
        private let rounds = Mutex(0)
        var count: Int { rounds.withLock { $0 } }

        func prune(_ policy: RetentionStore.Policy, maximumBatches: Int) async throws(StoreError)
            -> [RetentionStore.Table: Int]?
        {
            rounds.withLock { $0 += 1 }
            return [:]
        }

        func oldestAges() async throws(StoreError) -> [RetentionStore.Table: Duration?] { [:] }
    }

    static func pruner(_ store: CountingStore, _ clock: ManualClock) throws -> RetentionPruner<ManualClock> {
        let settings = try RetentionSettings(EnvironmentReader(environment: ["RETENTION_INTERVAL_MS": "60000"]))
        return RetentionPruner(
            store: store, settings: settings, logger: Logger(label: "retention-tests"), metrics: ServiceMetrics(),
            clock: clock)
    }

    @Test func aGracefulShutdownWhileItWaitsForTheNextRoundEndsIt() async throws {
        let clock = ManualClock()
        let store = CountingStore()
        let pruner = try Self.pruner(store, clock)
        try await testGracefulShutdown { trigger in
            let running = Task { try await pruner.run() }
            await clock.waitForSleep(until: ManualClock.Instant(sinceStart: .seconds(60)))
            #expect(store.count == 1)
            trigger.triggerGracefulShutdown()
            // The clock never moves: only the shutdown can end the wait.
            try await running.value
        }
        #expect(store.count == 1, "no round after the shutdown")
    }

    @Test func aGracefulShutdownBeforeTheFirstRoundStartsNone() async throws {
        let clock = ManualClock()
        let store = CountingStore()
        let pruner = try Self.pruner(store, clock)
        try await testGracefulShutdown { trigger in
            trigger.triggerGracefulShutdown()
            try await pruner.run()
        }
        #expect(store.count == 0)
    }
}
