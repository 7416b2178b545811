import ReminderCore
import Testing

@Suite struct CompletionPlannerTests {
    static let outcomes: [CompletionPlanner.Outcome] = [
        .delivered, .retry(after: .milliseconds(1_500)), .deadLetter(.deliveryExhausted, error: "gave up"),
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
                #expect(plan.steps.map(\.event) == [.fail, pending.event])
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
}
