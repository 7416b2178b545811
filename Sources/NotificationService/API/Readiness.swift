import Kafka
import ReminderStore
import Synchronization

/// What `/health/ready` checks: the database answers, and (on an instance that ingests)
/// the consumer has owned partitions within its grace period. Each check says why it
/// failed, in words that hold no server message or address (the endpoint is public).
public final class Readiness: Sendable {
    public struct Check: Sendable, Equatable {
        public let name: String
        public let ok: Bool
        public let detail: String
    }

    private let lookup: any ReminderLookingUp
    private let pipeline: IngestPipeline<ContinuousClock>?
    private let grace: Duration
    private let timeout: Duration
    /// Since when the consumer has been seen without partitions (nil while it has some):
    /// a rebalance takes every member's partitions for a moment, so only a lasting lack
    /// counts. Before it ever had partitions, the lack counts from the subscription.
    private let emptySince = Mutex<(since: ContinuousClock.Instant?, hadPartitions: Bool)>((nil, false))

    /// `pipeline`: nil on an instance that does not ingest.
    public init(
        lookup: any ReminderLookingUp, pipeline: IngestPipeline<ContinuousClock>?, grace: Duration,
        timeout: Duration = .seconds(2)
    ) {
        self.lookup = lookup
        self.pipeline = pipeline
        self.grace = grace
        self.timeout = timeout
    }

    public func check() async -> [Check] {
        var checks: [Check] = []
        do {
            let lookup = self.lookup
            try await StoreDeadline.run(timeout, on: ContinuousClock(), operation: "reach the database") {
                try await lookup.ping()
            }
            checks.append(Check(name: "database", ok: true, detail: "reachable"))
        } catch let error as StoreError where error.message.hasPrefix("no answer") {
            checks.append(Check(name: "database", ok: false, detail: "no answer within \(timeout)"))
        } catch let error as StoreError {
            checks.append(Check(name: "database", ok: false, detail: "unreachable (\(error.code.rawValue) error)"))
        } catch {
            checks.append(Check(name: "database", ok: false, detail: "unreachable"))
        }
        if let pipeline { checks.append(await consumerCheck(pipeline)) }
        return checks
    }

    private func consumerCheck(_ pipeline: IngestPipeline<ContinuousClock>) async -> Check {
        guard let started = pipeline.startedAt else {
            return Check(name: "consumer", ok: false, detail: "not subscribed yet")
        }
        guard let partitions = await pipeline.assignedPartitions() else {
            return Check(name: "consumer", ok: false, detail: "closed")
        }
        if !partitions.isEmpty {
            emptySince.withLock { $0 = (nil, true) }
            return Check(name: "consumer", ok: true, detail: "\(partitions.count) partitions assigned")
        }
        let now = ContinuousClock.now
        let since = emptySince.withLock { state in
            let since = state.since ?? (state.hadPartitions ? now : started)
            state.since = since
            return since
        }
        let waited = now - since
        if waited < grace {
            return Check(
                name: "consumer", ok: true,
                detail: "no partitions assigned for \(waited.wholeMilliseconds / 1_000) s "
                    + "(grace period \(grace.wholeMilliseconds / 1_000) s)")
        }
        return Check(
            name: "consumer", ok: false,
            detail:
                "no partitions assigned for \(waited.wholeMilliseconds / 1_000) s "
                + "(more instances than partitions, or the group cannot be joined)")
    }
}
