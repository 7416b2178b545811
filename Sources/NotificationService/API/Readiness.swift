import Kafka
import ReminderStore

/// What `/health/ready` checks: the database answers, and (on an instance that ingests)
/// the consumer owns partitions once its grace period is over. Each check says why it
/// failed.
public struct Readiness: Sendable {
    public struct Check: Sendable, Equatable {
        public let name: String
        public let ok: Bool
        public let detail: String
    }

    private let lookup: ReminderLookup
    private let pipeline: IngestPipeline?
    private let grace: Duration
    private let timeout: Duration

    /// `pipeline`: nil on an instance that does not ingest.
    public init(lookup: ReminderLookup, pipeline: IngestPipeline?, grace: Duration, timeout: Duration = .seconds(2)) {
        self.lookup = lookup
        self.pipeline = pipeline
        self.grace = grace
        self.timeout = timeout
    }

    public func check() async -> [Check] {
        var checks: [Check] = []
        do {
            let lookup = self.lookup
            try await StoreTimeLimit.run(timeout, operation: "reach the database") { try await lookup.ping() }
            checks.append(Check(name: "database", ok: true, detail: "reachable"))
        } catch {
            checks.append(Check(name: "database", ok: false, detail: "\(error)"))
        }
        if let pipeline { checks.append(consumerCheck(pipeline)) }
        return checks
    }

    private func consumerCheck(_ pipeline: IngestPipeline) -> Check {
        guard let started = pipeline.startedAt else {
            return Check(name: "consumer", ok: false, detail: "not subscribed yet")
        }
        guard let partitions = pipeline.assignedPartitions() else {
            return Check(name: "consumer", ok: false, detail: "closed")
        }
        if !partitions.isEmpty {
            return Check(name: "consumer", ok: true, detail: "\(partitions.count) partitions assigned")
        }
        let waited = ContinuousClock.now - started
        if waited < grace {
            return Check(
                name: "consumer", ok: true,
                detail: "no partitions assigned yet (grace period \(grace.wholeMilliseconds / 1_000) s)")
        }
        return Check(
            name: "consumer", ok: false,
            detail:
                "no partitions assigned \(waited.wholeMilliseconds / 1_000) s after start "
                + "(more instances than partitions, or the group cannot be joined)")
    }
}
