import ReminderCore
import Testing

/// The completion plans of recurring reminders, and what every plan tells the publisher:
/// every (outcome, pending change, series) combination, against a table stated here.
@Suite struct CompletionPlannerSeriesTests {
    static let next = RecurrenceCalculator.Scheduled(
        occurrence: RecurrenceCalculator.Occurrence(
            number: 8, index: 8,
            local: LocalDateTime(date: CivilDate(year: 2027, month: 3, day: 29)!, time: LocalTime(hour: 9, minute: 0)!)),
        dueAt: Instant(secondsSinceEpoch: 1_806_300_000), skipped: 2)
    static let serieses: [CompletionPlanner.Series] = [.oneOff, .recurring(next: nil), .recurring(next: next)]
    static let pendings: [PendingChange?] = [nil, .cancel, .replace]

    /// What the publisher hears, as `kind[:next]`, for an outcome with a pending change on
    /// a reminder that is one-off (o), recurring with a next occurrence (n) or recurring
    /// at its last occurrence (l).
    static func expected(_ outcome: CompletionPlanner.Outcome, _ pending: PendingChange?, _ series: String)
        -> [String]
    {
        switch (outcome, pending, series) {
        case (.delivered, nil, "n"): ["delivered", "scheduled:next"]
        case (.delivered, nil, _): ["delivered"]
        case (.delivered, .cancel?, "o"), (.delivered, .replace?, "o"): ["delivered"]
        case (.delivered, .cancel?, _): ["delivered", "cancelled"]
        case (.delivered, .replace?, _): ["delivered", "scheduled:next"]
        case (.retry, nil, _): ["attempt_failed:retry"]
        case (.retry, .cancel?, _): ["attempt_failed", "cancelled"]
        case (.retry, .replace?, _): ["attempt_failed", "scheduled:next"]
        case (.postponed, nil, _): []
        case (.postponed, .cancel?, _): ["cancelled"]
        case (.postponed, .replace?, _): ["scheduled:next"]
        case (.deadLetter(.expired, _), nil, _): ["expired"]
        case (.deadLetter(.expired, _), .cancel?, _): ["cancelled"]
        case (.deadLetter(.expired, _), .replace?, _): ["scheduled:next"]
        case (.deadLetter, nil, "n"): ["attempt_failed", "dead_lettered", "scheduled:next"]
        case (.deadLetter, nil, _): ["attempt_failed", "dead_lettered"]
        case (.deadLetter, .cancel?, _): ["attempt_failed", "cancelled"]
        case (.deadLetter, .replace?, _): ["attempt_failed", "scheduled:next"]
        default: ["unexpected"]
        }
    }

    /// The state each combination ends in.
    static func final(_ outcome: CompletionPlanner.Outcome, _ pending: PendingChange?, _ series: String)
        -> ReminderState
    {
        switch (outcome, pending, series) {
        case (.delivered, nil, "n"), (.delivered, .replace?, "n"), (.delivered, .replace?, "l"): .scheduled
        case (.delivered, _, _): .delivered
        case (.retry, nil, _): .retry
        case (_, .cancel?, _): .cancelled
        case (_, .replace?, _): .scheduled
        case (.postponed, nil, _): .scheduled
        case (.deadLetter(.expired, _), nil, _): .deadLetter
        case (.deadLetter, nil, "n"): .scheduled
        case (.deadLetter, nil, _): .deadLetter
        default: .pending
        }
    }

    static func code(_ series: CompletionPlanner.Series) -> String {
        switch series {
        case .oneOff: "o"
        case .recurring(next: nil): "l"
        case .recurring: "n"
        }
    }

    static func render(_ update: StatusUpdate) -> String {
        var text = update.kind.rawValue
        if update.occurrence == .next { text += ":next" }
        if update.willRetry == true { text += ":retry" }
        return text
    }

    @Test(arguments: CompletionPlannerTests.outcomes)
    func everyCombinationWalksTheMachineEndsAsTabledAndTellsThePublisherAsTabled(
        outcome: CompletionPlanner.Outcome
    ) throws {
        for pending in Self.pendings {
            for series in Self.serieses {
                let plan = CompletionPlanner.plan(outcome, pending: pending, series: series)
                let label = "\(outcome) \(String(describing: pending)) \(Self.code(series))"
                var state = plan.expected
                for step in plan.steps {
                    #expect(step.from == state, "\(label)")
                    state = step.to
                    // A note on a change that came too late (or ended the series) moves nothing.
                    let note =
                        step.from == step.to
                        && [CompletionPlanner.tooLateDetail, CompletionPlanner.seriesEndedDetail].contains(step.detail)
                    if note { continue }
                    #expect(try ReminderStateMachine.transition(from: step.from, on: step.event) == step.to, "\(label)")
                }
                #expect(plan.final == Self.final(outcome, pending, Self.code(series)), "\(label)")
                #expect(
                    plan.statuses.map(Self.render) == Self.expected(outcome, pending, Self.code(series)), "\(label)")
                // The series moves on exactly when its last step is `recur` without a replacement.
                let recurs = plan.steps.last?.event == .recur
                #expect((plan.next != nil) == (recurs && !plan.appliesReplacement), "\(label)")
                if let next = plan.next { #expect(next == Self.next, "\(label)") }
                // A dead letter record goes with every dead-lettered occurrence, also one the series outlives.
                let deadLettered = plan.steps.contains { $0.event == .deadLetter }
                #expect((plan.deadLetter != nil) == deadLettered, "\(label)")
                #expect(plan.statuses.filter { $0.kind == .delivered }.count == (outcome == .delivered ? 1 : 0))
            }
        }
    }

    @Test func theStepToTheNextOccurrenceSaysWhichAndWhenAndHowManyWerePassedOver() {
        let plan = CompletionPlanner.plan(.delivered, series: .recurring(next: Self.next))
        #expect(
            plan.steps == [
                ReminderTransition(from: .sending, to: .delivered, event: .deliver),
                ReminderTransition(
                    from: .delivered, to: .scheduled, event: .recur,
                    detail:
                        "occurrence 8 due at \(Self.next.dueAt) (2 passed over: already due when the one before was done)"
                ),
            ])
    }

    @Test func aCancelThatMissedTheOccurrenceInFlightEndsTheSeriesAndSaysSo() {
        let plan = CompletionPlanner.plan(.delivered, pending: .cancel, series: .recurring(next: Self.next))
        #expect(plan.final == .delivered)
        #expect(plan.next == nil)
        #expect(plan.steps.last?.detail == CompletionPlanner.seriesEndedDetail)
        #expect(plan.statuses.last == StatusUpdate(.cancelled, detail: CompletionPlanner.seriesEndedDetail))
    }

    @Test func anAbandonedAttemptTellsOnlyTheChangeThatApplied() {
        #expect(CompletionPlanner.abandoned(pending: .cancel).statuses == [StatusUpdate(.cancelled)])
        #expect(
            CompletionPlanner.abandoned(pending: .replace).statuses == [StatusUpdate(.scheduled, occurrence: .next)])
    }

    @Test func ingestTellsOfSchedulesAndCancelsThatTookEffectAndNothingOfDeferredOnes() {
        func transition(_ from: ReminderState, _ to: ReminderState, _ event: ReminderEventKind)
            -> IngestPlanner.Transition
        {
            IngestPlanner.Transition(from: from, to: to, event: event, position: 0)
        }
        #expect(StatusUpdate.ingest(transition(.pending, .scheduled, .schedule))?.kind == .scheduled)
        #expect(StatusUpdate.ingest(transition(.scheduled, .scheduled, .replace))?.kind == .scheduled)
        #expect(StatusUpdate.ingest(transition(.retry, .cancelled, .cancel))?.kind == .cancelled)
        #expect(StatusUpdate.ingest(transition(.sending, .sending, .cancel)) == nil)
        #expect(StatusUpdate.ingest(transition(.sending, .sending, .replace)) == nil)
    }
}
