/// Decides, without I/O, what erasing a user's data does to each of their reminders
/// before the data goes: nothing may be sent once an erasure has returned, so a reminder
/// still waiting is cancelled, and one being sent gets a pending cancel (the send has
/// started and cannot be stopped; its outcome decides, as for a publisher's cancel) that
/// the erasure waits out. Only finished reminders have their data removed.
public enum ErasurePlanner {
    /// What the history says of a cancel an erasure caused.
    public static let detail = "erasure of the user's data"

    public enum Step: Sendable, Equatable {
        /// Cancelled now: the transition and what the publisher hears.
        case cancel(ReminderTransition, StatusUpdate)
        /// Being sent: this change waits on it for the attempt's outcome, and the erasure
        /// waits until the reminder has finished.
        case awaitAttempt(PendingChange)
        /// Already finished (delivered, cancelled, dead-lettered): nothing more can be sent.
        case finished
    }

    /// The step for a reminder in `state` with `pending` waiting on it.
    public static func step(state: ReminderState, pending: PendingChange?) -> Step {
        if state.isTerminal { return .finished }
        if let target = try? ReminderStateMachine.transition(from: state, on: .cancel) {
            return .cancel(
                ReminderTransition(from: state, to: target, event: .cancel, detail: detail),
                StatusUpdate(.cancelled, detail: detail))
        }
        switch ReminderStateMachine.deferral(of: .cancel, in: state, pending: pending) {
        case .deferred(let change):
            return .awaitAttempt(change)
        case .refused, nil:
            // Unreachable with today's machine (a cancel applies or waits in every state
            // that is not finished); should a state appear where it does neither, the
            // erasure must not report it finished: it waits, and times out saying so.
            return .awaitAttempt(.cancel)
        }
    }

    /// Whether a reminder's personal data may be removed: it has finished, so neither a
    /// send nor a retry will read it again.
    public static func mayErase(_ state: ReminderState) -> Bool {
        state.isTerminal
    }
}
