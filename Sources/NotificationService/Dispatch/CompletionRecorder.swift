import Logging
import ReminderCore
import ReminderStore

/// Records the outcomes of delivery attempts in batches (group commit): whatever
/// finished while one statement ran goes into the next, so thousands of deliveries a
/// second cost tens of statements, and each caller still learns when its own outcome is
/// stored. A store failure is retried with backoff until `giveUpAfter`; a reminder whose
/// outcome could not be stored stays `SENDING` and is sent again when its lease runs
/// out (the provider's idempotency key covers that case).
actor CompletionRecorder<C: Clock> where C.Duration == Duration {
    enum Recording: Sendable, Equatable {
        case recorded
        /// Another dispatcher holds the reminder now: its lease had run out.
        case leaseLost
        case failed
    }

    private let store: any DispatchStoring
    private let maximumBatch: Int
    /// Retries a failed statement on the dispatcher's clock.
    private let retry: RetryLoop<C>
    private let giveUpAfter: Duration
    /// One statement's longest wait.
    private let statementLimit: Duration
    private let logger: Logger
    private var pending: [(DispatchStore.Completion, CheckedContinuation<Recording, Never>)] = []
    private var flushing = false

    init(
        store: any DispatchStoring, maximumBatch: Int, retry: RetryLoop<C>, giveUpAfter: Duration,
        statementLimit: Duration, logger: Logger
    ) {
        self.statementLimit = statementLimit
        self.store = store
        self.maximumBatch = maximumBatch
        self.retry = retry
        self.giveUpAfter = giveUpAfter
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

    private func flush() async {
        while !pending.isEmpty {
            let batch = Array(pending.prefix(maximumBatch))
            pending.removeFirst(batch.count)
            let outcome = await store(batch.map(\.0))
            for (completion, continuation) in batch {
                switch outcome {
                case .success(let lost):
                    continuation.resume(returning: lost.contains(completion.id) ? .leaseLost : .recorded)
                case .failure: continuation.resume(returning: .failed)
                }
            }
        }
        flushing = false
    }

    private func store(_ completions: [DispatchStore.Completion]) async -> Result<Set<Int64>, any Error> {
        let store = self.store
        let clock = retry.clock
        let statementLimit = self.statementLimit
        do {
            return .success(
                try await retry.run(
                    until: clock.now.advanced(by: giveUpAfter),
                    onFailure: { failure in
                        logger.warning(
                            "storing delivery outcomes failed; retrying",
                            metadata: [
                                "count": "\(completions.count)", "error": "\(failure.error)",
                                "retry_in": "\(failure.retryIn)",
                            ])
                    }
                ) {
                    try await StoreDeadline.run(statementLimit, on: clock, operation: "record delivery outcomes") {
                        try await store.complete(completions)
                    }
                })
        } catch {
            logger.error(
                "delivery outcomes could not be stored; their reminders will be sent again after their lease",
                metadata: ["count": "\(completions.count)", "error": "\(error)"])
            return .failure(error)
        }
    }
}
