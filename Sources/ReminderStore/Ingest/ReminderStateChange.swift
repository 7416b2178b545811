import ReminderCore

/// A stored reminder's new state, when an event changes it without new content (a cancel).
struct ReminderStateChange: BatchRow {
    let id: Int64
    let state: ReminderState

    static let columns: [BoundColumn<ReminderStateChange>] = [
        BoundColumn("id") { $0.id },
        BoundColumn("state") { $0.state.rawValue },
    ]
}

/// A change that waits on a reminder in flight for the attempt's outcome.
struct PendingChangeRow: BatchRow {
    let id: Int64
    let change: PendingChange

    static let columns: [BoundColumn<PendingChangeRow>] = [
        BoundColumn("id") { $0.id },
        BoundColumn("change") { $0.change.rawValue },
    ]
}
