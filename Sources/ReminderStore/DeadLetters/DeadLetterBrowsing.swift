import Foundation

/// The dead letters as operators browse them (`GET /v1/dead-letters`, the replay endpoint,
/// `dlq`): pages of them newest first, and one with its original message. `DeadLetterStore`
/// reads PostgreSQL; `MemoryDeadLetterBrowser` (ReminderStoreTesting) dead letters a test
/// gives it, for tests of the API without a database.
public protocol DeadLetterBrowsing: Sendable {
    /// Dead letters matching `filter`, newest first, at most `limit`; `before` is the
    /// sequence of the last entry of the previous page. The original message only when
    /// `includeMessage` (it may hold personal data).
    func list(_ filter: DeadLetterFilter, before: Int64?, limit: Int, includeMessage: Bool)
        async throws(StoreError) -> [DeadLetterEntry]

    /// One dead letter with its original message; nil when no dead letter has this id.
    func find(_ id: UUID) async throws(StoreError) -> DeadLetterEntry?
}

extension DeadLetterStore: DeadLetterBrowsing {}
