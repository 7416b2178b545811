import ReminderStore

/// Bounds one database call: PostgresNIO waits for a connection for as long as the
/// database is unreachable, and a caller that must pause, retry or shut down cannot.
enum StoreTimeLimit {
    /// `body`'s result, or a retriable `StoreError` once `limit` has passed (the call is
    /// cancelled then).
    static func run<T: Sendable>(
        _ limit: Duration, operation: String, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let result = try await group.next() ?? nil else {
                throw StoreError(
                    code: .connection, operation: operation, message: "no answer within \(limit)", isRetriable: true)
            }
            return result
        }
    }
}
