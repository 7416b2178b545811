import PostgresNIO

/// An error of the reminder store: what failed, PostgreSQL's SQLSTATE and message when
/// the server gave them, and whether trying again can help. The description never
/// contains query parameters, which may hold personal data.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// `DATABASE_URL` or another setting is wrong.
        case configuration
        /// A migration file is missing, unreadable, changed after it was applied, or failed.
        case migration
        /// The database could not be reached or the connection broke.
        case connection
        /// PostgreSQL refused a statement.
        case query
        /// A sealed value could not be opened: its key is not configured, or it does not
        /// open with it (`DataSealer`).
        case sealing
    }

    public let code: Code
    /// What the store was doing, for example `apply migration 0001_initial.sql`.
    public let operation: String
    public let message: String
    /// PostgreSQL's SQLSTATE, e.g. `40001` for a serialization failure.
    public let sqlState: String?
    public let isRetriable: Bool

    public init(code: Code, operation: String, message: String, sqlState: String? = nil, isRetriable: Bool = false) {
        self.code = code
        self.operation = operation
        self.message = message
        self.sqlState = sqlState
        self.isRetriable = isRetriable
    }

    public var description: String {
        "\(operation) failed: \(message)" + (sqlState.map { " (SQLSTATE \($0))" } ?? "")
    }

    /// Wraps an error thrown by PostgresNIO: server errors keep their SQLSTATE and
    /// message; connection failures are retriable.
    static func wrapping(_ error: any Error, code: Code = .query, operation: String) -> StoreError {
        if let error = error as? StoreError { return error }
        guard let psql = error as? PSQLError else {
            return StoreError(code: .connection, operation: operation, message: "\(error)", isRetriable: true)
        }
        if let server = psql.serverInfo {
            let state = server[.sqlState]
            let message = server[.message] ?? "server error"
            // Class 08 (connection), 40 (transaction rollback: serialization, deadlock),
            // 53 (insufficient resources), 57P (shutdown) are worth retrying.
            let retriable = state.map { ["08", "40", "53", "57"].contains(String($0.prefix(2))) } ?? false
            return StoreError(
                code: code, operation: operation, message: message, sqlState: state, isRetriable: retriable)
        }
        return StoreError(
            code: .connection, operation: operation, message: "no usable connection to PostgreSQL (\(psql.code))",
            isRetriable: true)
    }
}
