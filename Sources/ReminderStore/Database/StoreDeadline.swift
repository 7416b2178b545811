import Synchronization

/// Bounds one database call. PostgresNIO waits for a connection for as long as the
/// database is unreachable, and a caller that must pause, retry, shut down or answer
/// cannot: past `limit` on `clock` the call is cancelled and the caller gets a retriable
/// `StoreError` ("no answer within …") at once, without waiting for the call to end.
///
/// Not waiting is deliberate. A call that was in flight when PostgreSQL was stopped was
/// seen never to end, even cancelled: ingest's lane, then the consumer's buffer and its
/// group membership, and in another run the dispatcher's claim loop, stalled behind one
/// (the fault suite's `database` scenario, twice each before this). The call is left to
/// end on its own. Every caller's retry is safe if it does: the inbox makes a batch's
/// retry store nothing twice, an abandoned claim's reminders are taken over when their
/// lease runs out, an outcome recorded late is refused once another claim holds the
/// reminder, and a pruning batch given up closes its connection (its transaction rolls
/// back, its lock is freed).
public enum StoreDeadline {
    public static func run<T: Sendable, C: Clock>(
        _ limit: Duration, on clock: C, operation: String, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T where C.Duration == Duration {
        let answered = Once()
        // The call and the timer, once started: the caller's cancellation reaches the
        // call, and an answered call ends the timer's wait.
        let tasks = StartedTasks()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let work = Task {
                    let result = await Result { try await body() }
                    if answered.claim() { continuation.resume(with: result) }
                    tasks.started.withLock { $0.timer }?.cancel()
                }
                let timer = Task {
                    try? await clock.sleep(for: limit)
                    guard answered.claim() else { return }
                    work.cancel()
                    continuation.resume(
                        throwing: StoreError(
                            code: .connection, operation: operation, message: "no answer within \(limit)",
                            isRetriable: true))
                }
                tasks.started.withLock { $0 = (work, timer) }
            }
        } onCancel: {
            tasks.started.withLock { $0.work }?.cancel()
        }
    }
}

/// A bounded call's two tasks, once both are started.
private final class StartedTasks: Sendable {
    let started = Mutex<(work: Task<Void, Never>?, timer: Task<Void, Never>?)>((nil, nil))
}

/// Whoever claims it first answers the caller.
private final class Once: Sendable {
    private let claimed = Mutex(false)

    func claim() -> Bool {
        claimed.withLock { claimed in
            defer { claimed = true }
            return !claimed
        }
    }
}

extension Result where Failure == any Error {
    fileprivate init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
