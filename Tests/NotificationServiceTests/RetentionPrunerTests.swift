import Foundation
import Logging
import ReminderStore
import ReminderStoreTesting
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import TestSupport
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

    /// A store whose rounds fail: at once, or once the round is cancelled (as a query
    /// does when shutdown cancels it).
    struct FailingStore: RetentionPruning {
        let waitsForCancellation: Bool

        func prune(_ policy: RetentionStore.Policy, maximumBatches: Int) async throws(StoreError)
            -> [RetentionStore.Table: Int]?
        {
            if waitsForCancellation { try? await Task.sleep(for: .seconds(300)) }
            throw StoreError(code: .connection, operation: "prune", message: "the round failed", isRetriable: true)
        }

        func oldestAges() async throws(StoreError) -> [RetentionStore.Table: Duration?] { [:] }
    }

    static func pruner(
        _ store: some RetentionPruning, _ clock: ManualClock, logger: Logger = Logger(label: "retention-tests")
    ) throws -> RetentionPruner<ManualClock> {
        let settings = try RetentionSettings(EnvironmentReader(environment: ["RETENTION_INTERVAL_MS": "60000"]))
        return RetentionPruner(
            store: store, settings: settings, logger: logger, metrics: ServiceMetrics(), clock: clock)
    }

    @Test func aFailedRoundIsAWarningButARoundEndedByShutdownIsNot() async throws {
        let log = CapturedLog()
        let failing = try Self.pruner(FailingStore(waitsForCancellation: false), ManualClock(), logger: log.logger("r"))
        #expect(await failing.round() == nil)
        let cancelled = try Self.pruner(
            FailingStore(waitsForCancellation: true), ManualClock(), logger: log.logger("r"))
        let round = Task { await cancelled.round() }
        round.cancel()
        #expect(await round.value == nil)
        let warnings = log.records.filter { $0["level"] as? String == "warning" }.compactMap {
            $0["message"] as? String
        }
        #expect(warnings == ["retention round failed; the next round tries again"])
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
