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
        /// The occurrence a recurring reminder moves on to (its last step is `recur`): due
        /// at its time, with no attempts and no channel history.
        public let next: RecurrenceCalculator.Scheduled?
        /// What the publisher is told, in order, on the status topic.
        public let statuses: [StatusUpdate]

        init(
            expected: ReminderState, expectedPending: PendingChange? = nil, steps: [ReminderTransition],
            retryAfter: Duration? = nil, deadLetter: DeadLetterReason? = nil, appliesReplacement: Bool = false,
            next: RecurrenceCalculator.Scheduled? = nil, statuses: [StatusUpdate]
        ) {
            self.expected = expected
            self.expectedPending = expectedPending
            self.final = steps.last!.to
            self.steps = steps
            self.retryAfter = retryAfter
            self.deadLetter = deadLetter
            self.appliesReplacement = appliesReplacement
            self.next = next
            self.statuses = statuses
        }
    }

    /// What kind of reminder the attempt was for.
    public enum Series: Sendable, Equatable {
        case oneOff
        /// A recurring reminder, with the occurrence after the attempt's
        /// (`RecurrenceCalculator.next`); nil when the series ends with this one.
        case recurring(next: RecurrenceCalculator.Scheduled?)
    }

    /// The history's note on a pending change the provider's acceptance made too late.
    public static let tooLateDetail = "too late: the provider had accepted the attempt in flight"
    /// The history's note on a pending change applied after the attempt.
    public static let appliedDetail = "applied: the attempt in flight was not accepted"
    /// The history's note on an attempt whose lease ran out before its outcome was recorded.
    public static let abandonedDetail = "the lease ran out before the attempt's outcome was recorded"

    /// The history's note on a cancel that reached a recurring reminder while an attempt
    /// the provider accepted was in flight: that occurrence was delivered, none follows.
    public static let seriesEndedDetail = "the series ends: cancelled while this occurrence was being sent"
    /// The history's note on a replacement of a recurring reminder's rule that waited for
    /// an accepted attempt: it takes over from the next occurrence.
    public static let replacedRuleDetail = "replaced: the new schedule takes over from the next occurrence"

    /// The plan for `outcome` of an attempt claimed as `ReminderStateMachine.claimTarget`,
    /// with `pending` waiting on the reminder. A recurring reminder whose occurrence is
    /// done (delivered, or dead-lettered for any reason but expiry) moves on to `next` in
    /// the same plan; a dead-lettered occurrence does not end its series.
    public static func plan(_ outcome: Outcome, pending: PendingChange? = nil, series: Series = .oneOff) -> Plan {
        let claimed = ReminderStateMachine.claimTarget
        let next: RecurrenceCalculator.Scheduled?
        let recurring: Bool
        switch series {
        case .oneOff: (next, recurring) = (nil, false)
        case .recurring(let scheduled): (next, recurring) = (scheduled, true)
        }
        switch (outcome, pending) {
        case (.delivered, nil):
            return Plan(
                expected: claimed, steps: walk(from: claimed, [(.deliver, nil)] + recur(next)), next: next,
                statuses: [StatusUpdate(.delivered)] + scheduled(next))
        case (.delivered, .cancel?) where recurring:
            let delivered = walk(from: claimed, [(.deliver, nil)])
            let note = ReminderTransition(
                from: delivered.last!.to, to: delivered.last!.to, event: .cancel, detail: seriesEndedDetail)
            return Plan(
                expected: claimed, expectedPending: .cancel, steps: delivered + [note],
                statuses: [StatusUpdate(.delivered), StatusUpdate(.cancelled, detail: seriesEndedDetail)])
        case (.delivered, .replace?) where recurring:
            return Plan(
                expected: claimed, expectedPending: .replace,
                steps: walk(from: claimed, [(.deliver, nil), (.recur, replacedRuleDetail)]),
                appliesReplacement: true,
                statuses: [StatusUpdate(.delivered), StatusUpdate(.scheduled, occurrence: .next)])
        case (.delivered, let pending?):
            let delivered = walk(from: claimed, [(.deliver, nil)])
            let note = ReminderTransition(
                from: delivered.last!.to, to: delivered.last!.to, event: pending.event, detail: tooLateDetail)
            return Plan(
                expected: claimed, expectedPending: pending, steps: delivered + [note],
                statuses: [StatusUpdate(.delivered)])
        case (.retry(let delay), nil):
            let steps = walk(
                from: claimed, [(.fail, nil), (.scheduleRetry, "retry in \(delay.wholeMilliseconds) ms")])
            return Plan(
                expected: claimed, steps: steps, retryAfter: delay,
                statuses: [StatusUpdate(.attemptFailed, willRetry: true)])
        case (.postponed(let delay), nil):
            let steps = walk(from: claimed, [(.postpone, "quiet hours: due again in \(delay.wholeMilliseconds) ms")])
            return Plan(expected: claimed, steps: steps, retryAfter: delay, statuses: [])
        case (.postponed, let pending?):
            // Nothing was sent: the change applies to the reminder as it waits again.
            return Plan(
                expected: claimed, expectedPending: pending,
                steps: walk(from: claimed, [(.postpone, "quiet hours"), (pending.event, appliedDetail)]),
                appliesReplacement: pending == .replace, statuses: [applied(pending)])
        case (.deadLetter(.expired, let error), nil):
            // Expiry ends a series too: every later occurrence is later still.
            let steps = walk(from: claimed, [(.fail, error.isEmpty ? nil : error), (.deadLetter, "expired")])
            return Plan(
                expected: claimed, steps: steps, deadLetter: .expired,
                statuses: [StatusUpdate(.expired, reason: .expired)])
        case (.deadLetter(let reason, let error), nil):
            let steps = walk(
                from: claimed, [(.fail, error.isEmpty ? nil : error), (.deadLetter, reason.rawValue)] + recur(next))
            return Plan(
                expected: claimed, steps: steps, deadLetter: reason, next: next,
                statuses: [StatusUpdate(.attemptFailed, willRetry: false), StatusUpdate(.deadLettered, reason: reason)]
                    + scheduled(next))
        case (.retry, let pending?):
            return applying(pending, failure: nil, attempted: true)
        case (.deadLetter(let reason, let error), let pending?):
            return applying(pending, failure: error.isEmpty ? nil : error, attempted: reason != .expired)
        }
    }

    /// The plan for a reminder whose lease ran out in flight with `pending` waiting on
    /// it: nobody recorded an acceptance, so the change applies without another send.
    public static func abandoned(pending: PendingChange) -> Plan {
        applying(pending, failure: abandonedDetail, attempted: false)
    }

    /// The attempt failed (`failure` says how, for the history) and `pending` applies.
    /// `attempted`: whether a provider was asked (the publisher hears of the failure).
    private static func applying(_ pending: PendingChange, failure: String?, attempted: Bool) -> Plan {
        let claimed = ReminderStateMachine.claimTarget
        return Plan(
            expected: claimed, expectedPending: pending,
            steps: walk(from: claimed, [(.fail, failure), (pending.event, appliedDetail)]),
            appliesReplacement: pending == .replace,
            statuses: (attempted ? [StatusUpdate(.attemptFailed, willRetry: false)] : []) + [applied(pending)])
    }

    /// What the publisher hears of a pending change that applied.
    private static func applied(_ pending: PendingChange) -> StatusUpdate {
        switch pending {
        case .cancel: StatusUpdate(.cancelled)
        case .replace: StatusUpdate(.scheduled, occurrence: .next)
        }
    }

    /// The step to a recurring reminder's next occurrence, if there is one.
    private static func recur(_ next: RecurrenceCalculator.Scheduled?) -> [(ReminderEventKind, String?)] {
        guard let next else { return [] }
        let passedOver =
            next.skipped == 0 ? "" : " (\(next.skipped) passed over: already due when the one before was done)"
        return [(.recur, "occurrence \(next.occurrence.number) due at \(next.dueAt)\(passedOver)")]
    }

    private static func scheduled(_ next: RecurrenceCalculator.Scheduled?) -> [StatusUpdate] {
        next == nil ? [] : [StatusUpdate(.scheduled, occurrence: .next)]
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
