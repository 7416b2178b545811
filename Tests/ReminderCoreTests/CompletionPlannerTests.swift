import ReminderCore
import Testing

@Suite struct CompletionPlannerTests {
    static let outcomes: [CompletionPlanner.Outcome] = [
        .delivered, .retry(after: .milliseconds(1_500)), .postponed(after: .seconds(3_600)),
        .deadLetter(.deliveryExhausted, error: "gave up"),
        .deadLetter(.permanentFailure, error: ""), .deadLetter(.expired, error: "expired"),
    ]

    @Test(arguments: outcomes)
    func everyOutcomeIsAWalkThroughTheStateMachineFromTheClaim(outcome: CompletionPlanner.Outcome) throws {
        let plan = CompletionPlanner.plan(outcome)
        #expect(plan.expected == .sending)
        #expect(plan.steps.first?.from == plan.expected)
        var state = plan.expected
        for step in plan.steps {
            #expect(step.from == state)
            #expect(try ReminderStateMachine.transition(from: step.from, on: step.event) == step.to)
            state = step.to
        }
        #expect(state == plan.final)
    }

    @Test func aDeliveryIsOneStep() {
        let plan = CompletionPlanner.plan(.delivered)
        #expect(plan.steps == [ReminderTransition(from: .sending, to: .delivered, event: .deliver)])
        #expect(plan.final == .delivered)
        #expect(plan.retryAfter == nil)
        #expect(plan.deadLetter == nil)
    }

    @Test func aRetryFailsThenWaitsAndSaysHowLong() {
        let plan = CompletionPlanner.plan(.retry(after: .milliseconds(2_750)))
        #expect(
            plan.steps == [
                ReminderTransition(from: .sending, to: .failed, event: .fail),
                ReminderTransition(from: .failed, to: .retry, event: .scheduleRetry, detail: "retry in 2750 ms"),
            ])
        #expect(plan.final == .retry)
        #expect(plan.retryAfter == .milliseconds(2_750))
        #expect(plan.deadLetter == nil)
    }

    @Test func aDeadLetterFailsWithTheErrorAndNamesTheReason() {
        let plan = CompletionPlanner.plan(.deadLetter(.permanentFailure, error: "550 mailbox unavailable"))
        #expect(
            plan.steps == [
                ReminderTransition(from: .sending, to: .failed, event: .fail, detail: "550 mailbox unavailable"),
                ReminderTransition(from: .failed, to: .deadLetter, event: .deadLetter, detail: "permanent_failure"),
            ])
        #expect(plan.final == .deadLetter)
        #expect(plan.deadLetter == .permanentFailure)
        #expect(plan.retryAfter == nil)
    }

    @Test func anEmptyErrorLeavesTheFailureWithoutDetail() {
        let plan = CompletionPlanner.plan(.deadLetter(.deliveryExhausted, error: ""))
        #expect(plan.steps.first?.detail == nil)
    }

    @Test func aReminderExpiresAtItsExpiryNotBefore() {
        let expiry = Instant(secondsSinceEpoch: 1_800_000_000)
        #expect(CompletionPlanner.expiry(expiresAt: nil, now: expiry) == nil)
        #expect(
            CompletionPlanner.expiry(
                expiresAt: expiry, now: Instant(microsecondsSinceEpoch: expiry.microsecondsSinceEpoch - 1))
                == nil)
        #expect(
            CompletionPlanner.expiry(expiresAt: expiry, now: expiry)
                == .deadLetter(.expired, error: "expired at \(expiry) before it could be delivered"))
    }

    static let pendings: [PendingChange?] = [nil] + PendingChange.allCases.map(Optional.some)

    /// Every outcome with every pending change: a walk through the machine from the claim,
    /// except the note that a change came too late (a delivered reminder stays delivered).
    @Test(arguments: outcomes)
    func everyOutcomeWithEveryPendingChangeIsAWalkThroughTheStateMachine(outcome: CompletionPlanner.Outcome) throws {
        for pending in Self.pendings {
            let plan = CompletionPlanner.plan(outcome, pending: pending)
            #expect(plan.expected == .sending)
            #expect(plan.expectedPending == pending)
            var state = plan.expected
            for step in plan.steps {
                #expect(step.from == state)
                if step.detail == CompletionPlanner.tooLateDetail {
                    #expect(step.from == .delivered && step.to == .delivered && step.event == pending?.event)
                } else {
                    #expect(try ReminderStateMachine.transition(from: step.from, on: step.event) == step.to)
                }
                state = step.to
            }
            #expect(state == plan.final)
        }
    }

    /// The table of the race: accepted → delivered whatever is pending; anything else →
    /// the pending change wins, with no retry and no dead letter.
    @Test(arguments: outcomes)
    func aPendingChangeWinsOverEveryOutcomeButAnAcceptance(outcome: CompletionPlanner.Outcome) {
        for pending in PendingChange.allCases {
            let plan = CompletionPlanner.plan(outcome, pending: pending)
            if outcome == .delivered {
                #expect(plan.final == .delivered)
                #expect(
                    plan.steps.last
                        == ReminderTransition(
                            from: .delivered, to: .delivered, event: pending.event,
                            detail: CompletionPlanner.tooLateDetail))
                #expect(!plan.appliesReplacement)
            } else {
                #expect(plan.final == (pending == .cancel ? .cancelled : .scheduled))
                let notSent: ReminderEventKind = if case .postponed = outcome { .postpone } else { .fail }
                #expect(plan.steps.map(\.event) == [notSent, pending.event])
                #expect(plan.steps.last?.detail == CompletionPlanner.appliedDetail)
                #expect(plan.appliesReplacement == (pending == .replace))
            }
            #expect(plan.retryAfter == nil)
            #expect(plan.deadLetter == nil)
        }
    }

    @Test func aFailureThatLosesToAPendingChangeKeepsItsErrorInTheHistory() {
        let plan = CompletionPlanner.plan(.deadLetter(.permanentFailure, error: "550 no such user"), pending: .cancel)
        #expect(
            plan.steps == [
                ReminderTransition(from: .sending, to: .failed, event: .fail, detail: "550 no such user"),
                ReminderTransition(
                    from: .failed, to: .cancelled, event: .cancel, detail: CompletionPlanner.appliedDetail),
            ])
    }

    @Test(arguments: PendingChange.allCases)
    func anAbandonedAttemptAppliesThePendingChangeWithoutAnotherSend(pending: PendingChange) {
        let plan = CompletionPlanner.abandoned(pending: pending)
        #expect(plan.expected == .sending)
        #expect(plan.expectedPending == pending)
        #expect(
            plan.steps == [
                ReminderTransition(
                    from: .sending, to: .failed, event: .fail, detail: CompletionPlanner.abandonedDetail),
                ReminderTransition(
                    from: .failed, to: pending == .cancel ? .cancelled : .scheduled, event: pending.event,
                    detail: CompletionPlanner.appliedDetail),
            ])
        #expect(plan.appliesReplacement == (pending == .replace))
        #expect(plan.retryAfter == nil && plan.deadLetter == nil)
    }

    // MARK: Quiet hours for every send

    static let night = QuietHours(start: LocalTime(parsing: "22:00")!, end: LocalTime(parsing: "07:00")!)

    private func at(_ text: String) -> Instant { RFC3339.parse(text)! }

    @Test func aPostponementWaitsUnsentUntilTheQuietHoursEnd() {
        let plan = CompletionPlanner.plan(.postponed(after: .seconds(600)))
        #expect(
            plan.steps == [
                ReminderTransition(
                    from: .sending, to: .scheduled, event: .postpone, detail: "quiet hours: due again in 600000 ms")
            ])
        #expect(plan.retryAfter == .seconds(600))
        #expect(plan.deadLetter == nil && !plan.appliesReplacement)
    }

    /// Claimed at 23:30 in Berlin on the night the clocks go forward (2026-03-29, 02:00 CET
    /// → 03:00 CEST): 07:00 local that morning is 05:00Z, six and a half hours later, not
    /// seven and a half.
    @Test func aSendClaimedInsideQuietHoursAcrossMidnightAndSpringForwardWaitsForTheirLocalEnd() {
        let now = at("2026-03-28T22:30:00Z")
        #expect(
            CompletionPlanner.postponement(quietHours: Self.night, timeZone: "Europe/Berlin", now: now)
                == .postponed(after: .seconds(6 * 3_600 + 1_800)))
    }

    /// 23:00 CEST on the night they go back (2026-10-25, 03:00 CEST → 02:00 CET): 07:00 CET
    /// is 06:00Z, nine hours later.
    @Test func aSendClaimedInsideQuietHoursOnTheNightTheClocksGoBackWaitsNineHours() {
        #expect(
            CompletionPlanner.postponement(
                quietHours: Self.night, timeZone: "Europe/Berlin", now: at("2026-10-24T21:00:00Z"))
                == .postponed(after: .seconds(9 * 3_600)))
    }

    @Test func outsideQuietHoursOrWithoutThemASendGoesNow() {
        // 12:00 in Berlin; 23:30 in Berlin is 17:30 in New York.
        #expect(
            CompletionPlanner.postponement(
                quietHours: Self.night, timeZone: "Europe/Berlin", now: at("2026-06-01T10:00:00Z")) == nil)
        #expect(
            CompletionPlanner.postponement(
                quietHours: Self.night, timeZone: "America/New_York", now: at("2026-06-01T21:30:00Z")) == nil)
        #expect(
            CompletionPlanner.postponement(quietHours: nil, timeZone: "Europe/Berlin", now: at("2026-06-01T21:30:00Z"))
                == nil)
        // The quiet hours' end itself is outside them.
        #expect(
            CompletionPlanner.postponement(
                quietHours: Self.night, timeZone: "Europe/Berlin", now: at("2026-06-01T05:00:00Z")) == nil)
    }

    /// A retry 20 minutes after 21:50 CEST would fall at 22:10: it waits until 07:00.
    @Test func aRetryThatWouldFallInsideQuietHoursIsMovedToTheirEnd() {
        let now = at("2026-06-01T19:50:00Z")
        #expect(
            CompletionPlanner.outsideQuietHours(
                .retry(after: .seconds(1_200)), quietHours: Self.night, timeZone: "Europe/Berlin", now: now)
                == .retry(after: .seconds(9 * 3_600 + 600)))
        // One that falls before them, and every other outcome, is left as it is.
        #expect(
            CompletionPlanner.outsideQuietHours(
                .retry(after: .seconds(300)), quietHours: Self.night, timeZone: "Europe/Berlin", now: now)
                == .retry(after: .seconds(300)))
        #expect(
            CompletionPlanner.outsideQuietHours(
                .delivered, quietHours: Self.night, timeZone: "Europe/Berlin", now: at("2026-06-01T21:00:00Z"))
                == .delivered)
    }

    @Test func aPostponedSendWithAPendingCancelEndsCancelledUnsent() {
        let plan = CompletionPlanner.plan(.postponed(after: .seconds(60)), pending: .cancel)
        #expect(plan.final == .cancelled)
        #expect(plan.steps.map(\.event) == [.postpone, .cancel])
        #expect(plan.retryAfter == nil)
    }
}
