import Logging
import ReminderCore
import ServiceLifecycle

/// Tries an operation again after each failure, waiting on the caller's clock as an
/// `ExponentialBackoff` says, until it succeeds, fails in a way no retry helps, runs out
/// of time, or the caller stops. The service's one retry loop: ingest's store attempts,
/// the dead-letter relay, the dispatcher's claims and its outcome records all retry
/// through it, and a test drives it with a `ManualClock` and a fixed random draw.
struct RetryLoop<C: Clock>: Sendable where C.Duration == Duration {
    /// A failed attempt that is about to be retried, for the caller's log line or metric.
    struct Failure {
        /// 1 for the first failure of this run.
        let attempt: Int
        let error: any Error
        /// The wait before the next attempt.
        let retryIn: Duration
    }

    let backoff: ExponentialBackoff
    let clock: C
    /// A uniform draw in 0..<1 for the backoff's jitter.
    let random: @Sendable () -> Double

    init(backoff: ExponentialBackoff, clock: C, random: @escaping @Sendable () -> Double = { .random(in: 0..<1) }) {
        self.backoff = backoff
        self.clock = clock
        self.random = random
    }

    /// Runs `operation` until it returns, and returns what it returned.
    ///
    /// After a failure it throws the operation's error when `isRetriable` says a retry
    /// cannot help, or when the wait would reach `deadline` (a caller that must give up
    /// in time); otherwise it tells `onFailure` and waits. It throws `CancellationError`
    /// when the task is cancelled or `shouldStop` says the caller is stopping, looked at
    /// after the failure is told and again after the wait. `wait` waits out a delay: a
    /// sleep on the clock unless the caller's wait can end early (the dispatcher's wakes
    /// when new work is announced).
    func run<T>(
        isolation: isolated (any Actor)? = #isolation,
        until deadline: C.Instant? = nil,
        isRetriable: (any Error) -> Bool = { _ in true },
        stopWhen shouldStop: () -> Bool = { false },
        waitingWith wait: ((Duration) async throws -> Void)? = nil,
        onFailure: (Failure) -> Void,
        _ operation: () async throws -> T
    ) async throws -> T {
        var failures = 0
        while true {
            do {
                return try await operation()
            } catch {
                guard isRetriable(error) else { throw error }
                failures += 1
                let delay = backoff.delay(afterFailures: failures, random: random())
                if let deadline, clock.now.advanced(by: delay) >= deadline { throw error }
                onFailure(Failure(attempt: failures, error: error, retryIn: delay))
                if Task.isCancelled || shouldStop() { throw CancellationError() }
                if let wait {
                    try await wait(delay)
                } else {
                    try await clock.sleep(for: delay)
                }
                if Task.isCancelled || shouldStop() { throw CancellationError() }
            }
        }
    }
}

extension RetryLoop {
    /// An outbox relay's life: `relayOnce` again at once while it publishes something, after
    /// `idle` when the outbox is empty, its failures retried with the backoff, until the
    /// task is cancelled or the service shuts down (what is left waits in the table).
    ///
    /// `idleWait` waits out an idle interval: a sleep on the clock unless the caller's
    /// wait can end early (the status relay's, when ingest hands records over).
    func drain(
        isolation: isolated (any Actor)? = #isolation, idle: Duration, logger: Logger, what: String,
        idleWait: ((Duration) async -> Void)? = nil, _ relayOnce: () async throws -> Int
    ) async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let published: Int
            do {
                published = try await run(
                    stopWhen: { Task.isShuttingDownGracefully },
                    onFailure: { failure in
                        logger.warning(
                            "\(what) relay failed; retrying",
                            metadata: ["error": "\(failure.error)", "retry_in": "\(failure.retryIn)"])
                    }, relayOnce)
            } catch {
                break
            }
            guard published == 0 else { continue }
            if let idleWait {
                await idleWait(idle)
            } else {
                try? await clock.sleep(for: idle)
            }
        }
    }
}
