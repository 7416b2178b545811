/// Decides what the outcome of a claimed reminder's delivery attempt does to it: the
/// transitions to record, in order, and the state it ends in. The store writes exactly
/// this; it decides nothing but whether the claim is still the reminder's (an attempt
/// whose lease was taken over is not recorded).
///
/// Pure: every path is walked through `ReminderStateMachine`, so an outcome can only be
/// recorded as the machine allows it.
public enum CompletionPlanner {
    /// How one delivery attempt of a reminder ended.
    public enum Outcome: Sendable, Equatable {
        /// A provider accepted it.
        case delivered
        /// It failed in a way worth another attempt after `after`.
        case retry(after: Duration)
        /// It will never be delivered.
        case deadLetter(DeadLetterReason, error: String)
    }

    /// What to write for one completed attempt.
    public struct Plan: Sendable, Equatable {
        /// The state the reminder must still be in for the plan to apply: the claim's.
        public let expected: ReminderState
        public let final: ReminderState
        public let steps: [ReminderTransition]
        /// When the reminder is due again (`RETRY`), counted from when it is recorded.
        public let retryAfter: Duration?
        /// The dead-letter record to write with it, if any.
        public let deadLetter: DeadLetterReason?
    }

    /// The plan for `outcome` of an attempt claimed as `ReminderStateMachine.claimTarget`.
    public static func plan(_ outcome: Outcome) -> Plan {
        let claimed = ReminderStateMachine.claimTarget
        switch outcome {
        case .delivered:
            let steps = walk(from: claimed, [(.deliver, nil)])
            return Plan(expected: claimed, final: steps.last!.to, steps: steps, retryAfter: nil, deadLetter: nil)
        case .retry(let delay):
            let steps = walk(
                from: claimed, [(.fail, nil), (.scheduleRetry, "retry in \(delay.wholeMilliseconds) ms")])
            return Plan(expected: claimed, final: steps.last!.to, steps: steps, retryAfter: delay, deadLetter: nil)
        case .deadLetter(let reason, let error):
            let steps = walk(from: claimed, [(.fail, error.isEmpty ? nil : error), (.deadLetter, reason.rawValue)])
            return Plan(expected: claimed, final: steps.last!.to, steps: steps, retryAfter: nil, deadLetter: reason)
        }
    }

    /// The outcome of an attempt on a reminder whose `expiresAt` has passed at `now`: it
    /// is dead-lettered without being sent. Nil while it may still be sent.
    public static func expiry(expiresAt: Instant?, now: Instant) -> Outcome? {
        guard let expiresAt, expiresAt <= now else { return nil }
        return .deadLetter(.expired, error: "expired at \(expiresAt) before it could be delivered")
    }

    /// The steps of `events` applied in order from `state`. The paths above are fixed,
    /// and `CompletionPlannerTests` walks each: a refusal here is a defect in this file.
    private static func walk(from state: ReminderState, _ events: [(ReminderEventKind, String?)]) -> [ReminderTransition] {
        var state = state
        return events.map { event, detail in
            do {
                let next = try ReminderStateMachine.transition(from: state, on: event)
                defer { state = next }
                return ReminderTransition(from: state, to: next, event: event, detail: detail)
            } catch {
                preconditionFailure("\(error)")
            }
        }
    }
}
