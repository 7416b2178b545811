import ReminderStore
import Synchronization

/// Bounds a database read made for a caller who is waiting (a health probe, an API
/// request, a metrics scrape): the caller gets its answer or a timeout by `limit`, even
/// if the read itself does not stop when cancelled (a query queued for a connection to a
/// database that went away can wait much longer). The read is cancelled and left to end
/// on its own. `StoreTimeLimit`, used by ingest and dispatch, waits for the work it
/// bounds instead, so that nothing they started outlives them.
enum AnswerDeadline {
    static func run<T: Sendable>(
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
                continuation.resume(
                    throwing: StoreError(
                        code: .connection, operation: operation, message: "no answer within \(limit)",
                        isRetriable: true))
            }
        }
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
