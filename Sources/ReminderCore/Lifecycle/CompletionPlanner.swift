/// Decides what the outcome of a claimed reminder's delivery attempt does to it: the
/// transitions to record, in order, and the state it ends in. The store writes exactly
/// this; it decides nothing but whether the claim is still the reminder's (an attempt
/// whose lease was taken over is not recorded).
///
/// A `PendingChange` (a cancel or replace that arrived while the attempt was in flight)
/// is decided here too: the provider accepted the attempt → `DELIVERED`, and the history
/// says the change came too late; any other outcome (a failure, a lease that ran out, a
/// sender that died) → the attempt fails and the change applies: a cancel ends the
/// reminder without another send, a replacement starts it over with its new content.
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
        /// It was not sent: it fell due inside the user's quiet hours, which end after `after`.
        case postponed(after: Duration)
        /// It will never be delivered.
        case deadLetter(DeadLetterReason, error: String)
    }

    /// What to write for one completed attempt.
    public struct Plan: Sendable, Equatable {
        /// The state the reminder must still be in for the plan to apply: the claim's.
        public let expected: ReminderState
        /// The change that must be pending on it for the plan to apply (nil: none).
        public let expectedPending: PendingChange?
        public let final: ReminderState
        public let steps: [ReminderTransition]
        /// When the reminder is due again (`RETRY`, or `SCHEDULED` after a postponement),
        /// counted from when it is recorded.
        public let retryAfter: Duration?
        /// The dead-letter record to write with it, if any.
        public let deadLetter: DeadLetterReason?
        /// Whether the pending replacement becomes the reminder (new content and due
        /// time, no attempts, no channel history).
        public let appliesReplacement: Bool

        init(
            expected: ReminderState, expectedPending: PendingChange? = nil, steps: [ReminderTransition],
            retryAfter: Duration? = nil, deadLetter: DeadLetterReason? = nil, appliesReplacement: Bool = false
        ) {
            self.expected = expected
            self.expectedPending = expectedPending
            self.final = steps.last!.to
            self.steps = steps
            self.retryAfter = retryAfter
            self.deadLetter = deadLetter
            self.appliesReplacement = appliesReplacement
        }
    }

    /// The history's note on a pending change the provider's acceptance made too late.
    public static let tooLateDetail = "too late: the provider had accepted the attempt in flight"
    /// The history's note on a pending change applied after the attempt.
    public static let appliedDetail = "applied: the attempt in flight was not accepted"
    /// The history's note on an attempt whose lease ran out before its outcome was recorded.
    public static let abandonedDetail = "the lease ran out before the attempt's outcome was recorded"

    /// The plan for `outcome` of an attempt claimed as `ReminderStateMachine.claimTarget`,
    /// with `pending` waiting on the reminder.
    public static func plan(_ outcome: Outcome, pending: PendingChange? = nil) -> Plan {
        let claimed = ReminderStateMachine.claimTarget
        switch (outcome, pending) {
        case (.delivered, nil):
            return Plan(expected: claimed, steps: walk(from: claimed, [(.deliver, nil)]))
        case (.delivered, let pending?):
            let delivered = walk(from: claimed, [(.deliver, nil)])
            let note = ReminderTransition(
                from: delivered.last!.to, to: delivered.last!.to, event: pending.event, detail: tooLateDetail)
            return Plan(expected: claimed, expectedPending: pending, steps: delivered + [note])
        case (.retry(let delay), nil):
            let steps = walk(
                from: claimed, [(.fail, nil), (.scheduleRetry, "retry in \(delay.wholeMilliseconds) ms")])
            return Plan(expected: claimed, steps: steps, retryAfter: delay)
        case (.postponed(let delay), nil):
            let steps = walk(from: claimed, [(.postpone, "quiet hours: due again in \(delay.wholeMilliseconds) ms")])
            return Plan(expected: claimed, steps: steps, retryAfter: delay)
        case (.postponed, let pending?):
            // Nothing was sent: the change applies to the reminder as it waits again.
            return Plan(
                expected: claimed, expectedPending: pending,
                steps: walk(from: claimed, [(.postpone, "quiet hours"), (pending.event, appliedDetail)]),
                appliesReplacement: pending == .replace)
        case (.deadLetter(let reason, let error), nil):
            let steps = walk(from: claimed, [(.fail, error.isEmpty ? nil : error), (.deadLetter, reason.rawValue)])
            return Plan(expected: claimed, steps: steps, deadLetter: reason)
        case (.retry, let pending?):
            return applying(pending, failure: nil)
        case (.deadLetter(_, let error), let pending?):
            return applying(pending, failure: error.isEmpty ? nil : error)
        }
    }

    /// The plan for a reminder whose lease ran out in flight with `pending` waiting on
    /// it: nobody recorded an acceptance, so the change applies without another send.
    public static func abandoned(pending: PendingChange) -> Plan {
        applying(pending, failure: abandonedDetail)
    }

    /// The attempt failed (`failure` says how, for the history) and `pending` applies.
    private static func applying(_ pending: PendingChange, failure: String?) -> Plan {
        let claimed = ReminderStateMachine.claimTarget
        return Plan(
            expected: claimed, expectedPending: pending,
            steps: walk(from: claimed, [(.fail, failure), (pending.event, appliedDetail)]),
            appliesReplacement: pending == .replace)
    }

    /// The outcome of an attempt on a reminder whose `expiresAt` has passed at `now`: it
    /// is dead-lettered without being sent. Nil while it may still be sent.
    public static func expiry(expiresAt: Instant?, now: Instant) -> Outcome? {
        guard let expiresAt, expiresAt <= now else { return nil }
        return .deadLetter(.expired, error: "expired at \(expiresAt) before it could be delivered")
    }

    /// The outcome of an attempt claimed at `now` inside the quiet hours of a reminder in
    /// `timeZone`: postponed to their end, unsent. Nil when it may be sent now.
    public static func postponement(quietHours: QuietHours?, timeZone: String, now: Instant) -> Outcome? {
        guard let wait = quietWait(quietHours, timeZone, from: now) else { return nil }
        return .postponed(after: wait)
    }

    /// `outcome` with a retry that would fall due inside the quiet hours moved to their end.
    public static func outsideQuietHours(_ outcome: Outcome, quietHours: QuietHours?, timeZone: String, now: Instant)
        -> Outcome
    {
        guard case .retry(let delay) = outcome,
            let wait = quietWait(quietHours, timeZone, from: now.advanced(by: delay))
        else { return outcome }
        return .retry(after: delay + wait)
    }

    /// How long from `instant` until the quiet hours it falls in end; nil outside them.
    private static func quietWait(_ quietHours: QuietHours?, _ timeZone: String, from instant: Instant) -> Duration? {
        guard let quietHours, let zone = TimeZones.zone(named: timeZone) else { return nil }
        let resumed = DeliveryTimeCalculator.deferred(instant, outOf: quietHours, in: zone)
        guard resumed > instant else { return nil }
        return .microseconds(resumed.microsecondsSinceEpoch - instant.microsecondsSinceEpoch)
    }

    /// The steps of `events` applied in order from `state`. The paths above are fixed,
    /// and `CompletionPlannerTests` walks each: a refusal here is a defect in this file.
    private static func walk(from state: ReminderState, _ events: [(ReminderEventKind, String?)])
        -> [ReminderTransition]
    {
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
