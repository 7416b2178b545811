/// One step of a reminder's life as its history keeps it (`reminder_transitions`):
/// decided by `ReminderStateMachine` through a planner, written by a store.
public struct ReminderTransition: Sendable, Equatable {
    public let from: ReminderState
    public let to: ReminderState
    public let event: ReminderEventKind
    /// Free text for the history, without personal data.
    public let detail: String?

    public init(from: ReminderState, to: ReminderState, event: ReminderEventKind, detail: String? = nil) {
        self.from = from
        self.to = to
        self.event = event
        self.detail = detail
    }
}
