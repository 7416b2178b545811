import ReminderStore

/// The failures a memory store was told to answer with: each of its next `remaining`
/// calls fails as a dropped connection would, retriably.
struct ToldFailures {
    var remaining = 0

    /// The error for this call, when it is told to fail; counts it.
    mutating func next(_ operation: String) -> StoreError? {
        guard remaining > 0 else { return nil }
        remaining -= 1
        return StoreError(
            code: .connection, operation: operation, message: "the memory store was told to fail", isRetriable: true)
    }
}
