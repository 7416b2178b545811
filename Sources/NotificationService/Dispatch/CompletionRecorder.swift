import Logging
import ReminderCore
import ReminderStore

/// Records the outcomes of delivery attempts in batches (group commit): whatever
/// finished while one statement ran goes into the next, so thousands of deliveries a
/// second cost tens of statements, and each caller still learns when its own outcome is
/// stored. A store failure is retried with backoff until `giveUpAfter`; a reminder whose
/// outcome could not be stored stays `SENDING` and is sent again when its lease runs
/// out (the provider's idempotency key covers that case).
actor CompletionRecorder {
    enum Recording: Sendable, Equatable {
        case recorded
        /// Another dispatcher holds the reminder now: its lease had run out.
        case leaseLost
        case failed
    }

    private let store: any DispatchStoring
    private let maximumBatch: Int
    private let retry: ExponentialBackoff
    private let giveUpAfter: Duration
    /// One statement's longest wait.
    private let statementLimit: Duration
    private let logger: Logger
    private var pending: [(DispatchStore.Completion, CheckedContinuation<Recording, Never>)] = []
    private var flushing = false

    init(
        store: any DispatchStoring, maximumBatch: Int, retry: ExponentialBackoff, giveUpAfter: Duration,
        statementLimit: Duration,
        logger: Logger
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
        let clock = ContinuousClock()
        let deadline = clock.now + giveUpAfter
        var failures = 0
        while true {
            do {
                let store = self.store
                return .success(
                    try await StoreDeadline.run(statementLimit, operation: "record delivery outcomes") {
                        try await store.complete(completions)
                    })
            } catch {
                failures += 1
                let delay = retry.delay(afterFailures: failures, random: Double.random(in: 0..<1))
                guard clock.now + delay < deadline else {
                    logger.error(
                        "delivery outcomes could not be stored; their reminders will be sent again after their lease",
                        metadata: ["count": "\(completions.count)", "error": "\(error)"])
                    return .failure(error)
                }
                logger.warning(
                    "storing delivery outcomes failed; retrying",
                    metadata: ["count": "\(completions.count)", "error": "\(error)", "retry_in": "\(delay)"])
                try? await Task.sleep(for: delay)
            }
        }
    }
}
