import Logging
import ReminderStore
import ServiceLifecycle

/// What the pruner asks of the store; `RetentionStore` prunes PostgreSQL.
public protocol RetentionPruning: Sendable {
    /// One round of every kind of row past its window; nil when another instance prunes.
    func prune(_ policy: RetentionStore.Policy, maximumBatches: Int) async throws(StoreError)
        -> [RetentionStore.Table: Int]?
    /// How old the oldest row each pruning looks at is (nil: none).
    func oldestAges() async throws(StoreError) -> [RetentionStore.Table: Duration?]
}

extension RetentionStore: RetentionPruning {}

/// Prunes the database every `interval`: what is past its retention goes, a small batch
/// per transaction (`RetentionStore`), on whichever instance holds the pruning lock. A
/// failed round is logged and the next one tries again; pruning is never urgent.
public final class RetentionPruner<C: Clock>: Service, Sendable where C.Duration == Duration {
    private let store: any RetentionPruning
    private let settings: RetentionSettings
    private let logger: Logger
    private let metrics: ServiceMetrics
    private let clock: C

    public init(
        store: any RetentionPruning, settings: RetentionSettings, logger: Logger, metrics: ServiceMetrics, clock: C
    ) {
        self.store = store
        self.settings = settings
        self.logger = logger
        self.metrics = metrics
        self.clock = clock
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await cancelWhenGracefulShutdown {
                await self.round()
                try? await self.clock.sleep(for: self.settings.interval)
            }
        }
    }

    /// One pruning round, its metrics and its log line. Returns the rows pruned by table,
    /// nil when another instance pruned or the round failed.
    @discardableResult
    public func round() async -> [RetentionStore.Table: Int]? {
        do {
            guard let pruned = try await store.prune(settings.policy, maximumBatches: 1_000) else {
                logger.debug("retention: another instance is pruning")
                return nil
            }
            metrics.pruned(pruned)
            let store = self.store
            metrics.oldestKept(
                try await StoreDeadline.run(
                    settings.policy.callLimit, on: clock, operation: "read the oldest rows' ages"
                ) { try await store.oldestAges() })
            let total = pruned.values.reduce(0, +)
            if total > 0 {
                logger.info(
                    "retention pruned rows past their windows",
                    metadata: Dictionary(uniqueKeysWithValues: pruned.map { ($0.key.rawValue, "\($0.value)") }))
            }
            return pruned
        } catch {
            // Cancelled by shutdown: the store's error then says its query was cancelled;
            // no warning for that.
            if Task.isCancelled { return nil }
            logger.warning("retention round failed; the next round tries again", metadata: ["error": "\(error)"])
            return nil
        }
    }
}
