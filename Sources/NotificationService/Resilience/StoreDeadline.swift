import ReminderStore
import Synchronization

/// Bounds one database call. PostgresNIO waits for a connection for as long as the
/// database is unreachable, and a caller that must pause, retry, shut down or answer
/// cannot: past `limit` the call is cancelled and the caller gets a retriable
/// `StoreError` ("no answer within …").
enum StoreDeadline {
    /// What the caller waits for once the limit has passed.
    enum Overrun: Sendable {
        /// The cancelled call's end: ingest and dispatch, so that nothing they started
        /// outlives them.
        case awaitTheCall
        /// Nothing: a caller who is waiting for an answer (a health probe, an API
        /// request, a metrics scrape) gets it by the limit even if the call does not stop
        /// when cancelled (a query queued for a connection to a database that went away
        /// can wait much longer). The call is left to end on its own.
        case answerAtTheLimit
    }

    static func run<T: Sendable>(
        _ limit: Duration, operation: String, overrun: Overrun = .awaitTheCall,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        switch overrun {
        case .awaitTheCall: try await awaitingTheCall(limit, operation: operation, body)
        case .answerAtTheLimit: try await answeringAtTheLimit(limit, operation: operation, body)
        }
    }

    private static func awaitingTheCall<T: Sendable>(
        _ limit: Duration, operation: String, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            // Leaving the group waits for the cancelled call.
            defer { group.cancelAll() }
            guard let result = try await group.next() ?? nil else { throw timedOut(limit, operation) }
            return result
        }
    }

    private static func answeringAtTheLimit<T: Sendable>(
        _ limit: Duration, operation: String, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let answered = Once()
        return try await withCheckedThrowingContinuation { continuation in
            let work = Task {
                let result = await Result { try await body() }
                if answered.claim() { continuation.resume(with: result) }
            }
            Task {
                try? await Task.sleep(for: limit)
                guard answered.claim() else { return }
                work.cancel()
                continuation.resume(throwing: timedOut(limit, operation))
            }
        }
    }

    private static func timedOut(_ limit: Duration, _ operation: String) -> StoreError {
        StoreError(code: .connection, operation: operation, message: "no answer within \(limit)", isRetriable: true)
    }
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
