import ReminderCore

/// A transition ingest writes, by the publisher's reminder id (the statement joins it to
/// the row's own id).
struct IngestTransitionRow: BatchRow {
    let reminderID: String
    let transition: IngestPlanner.Transition

    static let columns: [BoundColumn<IngestTransitionRow>] = [
        BoundColumn("reminder_id") { $0.reminderID },
        BoundColumn("from_state") { $0.transition.from.rawValue },
        BoundColumn("to_state") { $0.transition.to.rawValue },
        BoundColumn("event") { $0.transition.event.rawValue },
        BoundColumn("detail") { $0.transition.detail },
    ]
}
