import Logging
import ReminderCore
import ReminderStore

/// Records the outcomes of delivery attempts in batches (group commit): whatever
/// finished while one statement ran goes into the next, so thousands of deliveries a
/// second cost tens of statements, and each caller still learns when its own outcome is
/// stored.
///
/// An outcome is never given up while the dispatcher runs: a failing store is retried
/// with backoff until it answers (the dispatcher claims nothing new meanwhile, and keeps
/// renewing the outcome's lease, so no other sender takes the reminder over and sends it
/// again). Only once a graceful shutdown has begun does `giveUp(after:)` set a limit: an
/// outcome still not stored then stays `SENDING` and is taken over after its lease runs
/// out (the provider's idempotency key covers that case).
actor CompletionRecorder<C: Clock> where C.Duration == Duration {
    enum Recording: Sendable, Equatable {
        /// Stored as the attempt's outcome says.
        case recorded
        /// Stored, but the attempt was not accepted and a cancel or replace that waited on
        /// the reminder decided: it applied instead of the outcome's retry or dead letter.
        case changed(PendingChange)
        /// Another dispatcher holds the reminder now: its lease had run out.
        case leaseLost
        /// Not stored: the dispatcher was stopping and the store did not answer in time.
        case failed

        var isRecorded: Bool {
            switch self {
            case .recorded, .changed: true
            case .leaseLost, .failed: false
            }
        }
    }

    private let store: any DispatchStoring
    private let maximumBatch: Int
    /// Retries a failed statement on the dispatcher's clock.
    private let retry: RetryLoop<C>
    /// One statement's longest wait.
    private let statementLimit: Duration
    private let leases: LeaseKeeper<C>?
    private let logger: Logger
    private var pending: [(DispatchStore.Completion, CheckedContinuation<Recording, Never>)] = []
    private var flushing = false
    /// Set when the last statement failed, until one succeeds.
    private(set) var isFailing = false
    /// When outcomes are given up (set once a graceful shutdown has begun).
    private var giveUpAt: C.Instant?

    /// `leases`: told whether each statement reached the store (nil: nobody listens).
    init(
        store: any DispatchStoring, maximumBatch: Int, retry: RetryLoop<C>, statementLimit: Duration,
        leases: LeaseKeeper<C>? = nil, logger: Logger
    ) {
        self.statementLimit = statementLimit
        self.store = store
        self.maximumBatch = maximumBatch
        self.retry = retry
        self.leases = leases
        self.logger = logger
    }

    func record(_ completion: DispatchStore.Completion) async -> Recording {
        await withCheckedContinuation { continuation in
            pending.append((completion, continuation))
            if !flushing {
                flushing = true
                Task { await self.flush() }
            }
        }
    }

    /// From now on, an outcome the store has not taken within `limit` is given up.
    func giveUp(after limit: Duration) {
        let deadline = retry.clock.now.advanced(by: limit)
        giveUpAt = min(giveUpAt ?? deadline, deadline)
    }

    private func flush() async {
        while !pending.isEmpty {
            let batch = Array(pending.prefix(maximumBatch))
            pending.removeFirst(batch.count)
            let outcome = await store(batch.map(\.0))
            for (completion, continuation) in batch {
                switch outcome {
                case .success(let report):
                    if report.notRecorded.contains(completion.id) {
                        continuation.resume(returning: .leaseLost)
                    } else if let change = report.changed[completion.id] {
                        continuation.resume(returning: .changed(change))
                    } else {
                        continuation.resume(returning: .recorded)
                    }
                case .failure: continuation.resume(returning: .failed)
                }
            }
        }
        flushing = false
    }

    private var givenUp: Bool {
        giveUpAt.map { retry.clock.now >= $0 } ?? false
    }

    private func store(_ completions: [DispatchStore.Completion]) async -> Result<
        DispatchStore.CompletionReport, any Error
    > {
        let store = self.store
        let clock = retry.clock
        let statementLimit = self.statementLimit
        do {
            let report = try await retry.run(
                stopWhen: { givenUp },
                onFailure: { failure in
                    isFailing = true
                    leases?.observe(reached: false)
                    logger.warning(
                        "storing delivery outcomes failed; keeping them and retrying",
                        metadata: [
                            "count": "\(completions.count)", "error": "\(failure.error)",
                            "retry_in": "\(failure.retryIn)",
                        ])
                }
            ) {
                try await StoreDeadline.run(statementLimit, on: clock, operation: "record delivery outcomes") {
                    try await store.complete(completions)
                }
            }
            isFailing = false
            leases?.observe(reached: true)
            return .success(report)
        } catch {
            logger.error(
                "delivery outcomes could not be stored before shutdown; their reminders will be sent again after their lease",
                metadata: ["count": "\(completions.count)", "error": "\(error)"])
            return .failure(error)
        }
    }
}
