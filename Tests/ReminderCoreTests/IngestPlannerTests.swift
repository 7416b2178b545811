import ReminderCore
import Testing

@Suite struct IngestPlannerTests {
    private func schedule(_ position: Int, _ reminder: String = "r", user: String = "u") -> IngestPlanner.Input {
        let schedule = ReminderSchedule(
            timeZone: "UTC", deliverAt: .instant(Instant(secondsSinceEpoch: 0)), channels: [.email(to: "a@b.co")],
            content: Content(title: "t\(position)", body: "", data: nil), quietHours: nil, expiresAt: nil)
        return IngestPlanner.Input(
            position: position,
            event: ReminderEvent(
                idempotencyKey: "k\(position)", reminderID: reminder, userID: user, correlationID: nil,
                action: .schedule(schedule)))
    }

    private func cancel(_ position: Int, _ reminder: String = "r", user: String = "u") -> IngestPlanner.Input {
        IngestPlanner.Input(
            position: position,
            event: ReminderEvent(
                idempotencyKey: "k\(position)", reminderID: reminder, userID: user, correlationID: nil, action: .cancel)
        )
    }

    @Test(arguments: ReminderState.allCases)
    func aCancelOrReplaceOfAnotherUsersReminderChangesNothingAndIsRejected(state: ReminderState) {
        let stored: [String: IngestPlanner.Stored] = ["r": .init(id: 3, state: state, userID: "owner")]
        let plan = IngestPlanner.plan([cancel(0, user: "intruder"), schedule(1, user: "intruder")], stored: stored)
        #expect(plan.writes.isEmpty)
        #expect(plan.skipped.isEmpty)
        #expect(plan.rejected.map(\.position) == [0, 1])
        #expect(plan.rejected.allSatisfy { $0.reason == .ownershipConflict && $0.error.hasPrefix("user_id") })
    }

    @Test func theOwnersEventsAroundAnIntrudersStillApply() {
        let stored: [String: IngestPlanner.Stored] = ["r": .init(id: 3, state: .scheduled, userID: "owner")]
        let plan = IngestPlanner.plan(
            [schedule(0, user: "owner"), cancel(1, user: "intruder"), cancel(2, user: "owner")], stored: stored)
        #expect(plan.rejected.map(\.position) == [1])
        #expect(plan.writes.map(\.finalState) == [.cancelled])
        #expect(plan.writes.first?.transitions.map(\.position) == [0, 2])
        #expect(plan.writes.first?.contentFrom == 0)
    }

    @Test func aReminderCreatedInTheBatchBelongsToItsFirstSchedulesUser() {
        let plan = IngestPlanner.plan(
            [schedule(0, user: "owner"), schedule(1, user: "intruder"), cancel(2, user: "intruder")], stored: [:])
        #expect(plan.rejected.map(\.position) == [1, 2])
        #expect(plan.writes.map(\.finalState) == [.scheduled])
        #expect(plan.writes.first?.contentFrom == 0)
    }

    @Test func aCancelBeforeAnyScheduleIsSkippedWhoeverSendsIt() {
        let plan = IngestPlanner.plan([cancel(0, user: "intruder"), schedule(1, user: "owner")], stored: [:])
        #expect(plan.rejected.isEmpty)
        #expect(plan.skipped.map(\.position) == [0])
        #expect(plan.writes.map(\.finalState) == [.scheduled])
    }

    @Test func aNewScheduleCreatesAScheduledReminder() {
        let plan = IngestPlanner.plan([schedule(0)], stored: [:])
        #expect(plan.writes.count == 1)
        #expect(plan.writes[0].existing == nil)
        #expect(plan.writes[0].finalState == .scheduled)
        #expect(plan.writes[0].contentFrom == 0)
        #expect(plan.writes[0].transitions.map(\.event) == [.schedule])
    }

    @Test func scheduleReplaceCancelInOneBatchEndsCancelledWithEveryStep() {
        let plan = IngestPlanner.plan([schedule(0), schedule(1), cancel(2)], stored: [:])
        #expect(plan.writes.count == 1)
        #expect(plan.writes[0].finalState == .cancelled)
        #expect(plan.writes[0].contentFrom == 1)
        #expect(plan.writes[0].transitions.map(\.event) == [.schedule, .replace, .cancel])
        #expect(plan.skipped.isEmpty)
    }

    @Test func theCreationIsTheStateMachinesStepOutOfPending() throws {
        let creation = ReminderStateMachine.creation
        #expect(try ReminderStateMachine.transition(from: creation.from, on: creation.event) == creation.to)
        #expect(creation.from == .pending && creation.detail == nil)
    }

    /// Every batch of up to three schedules and cancels for one reminder: the row a new
    /// reminder's write inserts records its first transition, every other transition
    /// is a row of its own; a write to a stored reminder (any state) keeps all as rows.
    @Test(arguments: [nil] + ReminderState.allCases.map(Optional.some))
    func onlyANewRemindersRowRecordsItsCreation(stored state: ReminderState?) {
        let stored: [String: IngestPlanner.Stored] = state.map { ["r": .init(id: 5, state: $0, userID: "u")] } ?? [:]
        // true: a schedule, false: a cancel; every sequence of one to three.
        var batches: [[Bool]] = [[true], [false]]
        for length in 2...3 {
            batches += batches.filter { $0.count == length - 1 }.flatMap { [$0 + [true], $0 + [false]] }
        }
        #expect(batches.count == 14)
        var writes = 0
        for batch in batches {
            let inputs = batch.enumerated().map { $1 ? schedule($0) : cancel($0) }
            for write in IngestPlanner.plan(inputs, stored: stored).writes {
                writes += 1
                if write.existing == nil {
                    #expect(write.rowRecordsCreation, "\(batch)")
                    let creation = ReminderStateMachine.creation
                    #expect(write.transitions.first.map { [$0.from, $0.to] } == [creation.from, creation.to])
                    #expect(write.transitions.first?.event == creation.event)
                    #expect(Array(write.transitionRows) == Array(write.transitions.dropFirst()), "\(batch)")
                } else {
                    #expect(!write.rowRecordsCreation, "\(batch)")
                    #expect(Array(write.transitionRows) == write.transitions, "\(batch)")
                }
            }
        }
        // A finished reminder takes no schedule or cancel: nothing to write for it.
        #expect((writes > 0) == ![.delivered, .cancelled, .deadLetter].contains(state))
    }

    @Test func theSameSequenceSplitAcrossBatchesEndsTheSame() {
        let first = IngestPlanner.plan([schedule(0)], stored: [:])
        let second = IngestPlanner.plan(
            [schedule(0)], stored: ["r": .init(id: 7, state: first.writes[0].finalState, userID: "u")])
        let third = IngestPlanner.plan(
            [cancel(0)], stored: ["r": .init(id: 7, state: second.writes[0].finalState, userID: "u")])
        #expect(second.writes[0].transitions.map(\.event) == [.replace])
        #expect(third.writes[0].existing == 7)
        #expect(third.writes[0].finalState == .cancelled)
        #expect(third.writes[0].contentFrom == nil)
    }

    private func sending(pending: PendingChange? = nil, user: String = "u") -> [String: IngestPlanner.Stored] {
        ["r": .init(id: 1, state: .sending, userID: user, pending: pending)]
    }

    private func deferred(_ event: ReminderEventKind, at position: Int) -> IngestPlanner.Transition {
        .init(from: .sending, to: .sending, event: event, position: position, detail: IngestPlanner.deferredDetail)
    }

    @Test func aCancelWhileSendingWaitsForTheAttemptsOutcome() {
        let plan = IngestPlanner.plan([cancel(4)], stored: sending())
        #expect(plan.skipped.isEmpty)
        #expect(
            plan.writes == [
                .init(
                    reminderID: "r", existing: 1, finalState: .sending, contentFrom: nil,
                    transitions: [deferred(.cancel, at: 4)], pending: .cancel)
            ])
    }

    @Test func aReplaceWhileSendingWaitsWithItsContent() {
        let plan = IngestPlanner.plan([schedule(2)], stored: sending())
        #expect(
            plan.writes == [
                .init(
                    reminderID: "r", existing: 1, finalState: .sending, contentFrom: nil,
                    transitions: [deferred(.replace, at: 2)], pending: .replace(contentFrom: 2))
            ])
    }

    @Test func theLastOfSeveralChangesInFlightIsWhatWaits() {
        let replaceThenCancel = IngestPlanner.plan([schedule(0), schedule(1), cancel(2)], stored: sending())
        #expect(replaceThenCancel.writes.first?.pending == .cancel)
        #expect(replaceThenCancel.writes.first?.transitions.map(\.event) == [.replace, .replace, .cancel])
        let twoReplaces = IngestPlanner.plan([schedule(0), schedule(1)], stored: sending(pending: .replace))
        #expect(twoReplaces.writes.first?.pending == .replace(contentFrom: 1))
    }

    @Test func nothingOverridesAPendingCancel() {
        let sameBatch = IngestPlanner.plan([cancel(0), schedule(1), cancel(2)], stored: sending())
        #expect(sameBatch.writes.first?.pending == .cancel)
        #expect(
            sameBatch.skipped == [
                .init(position: 1, reason: "the reminder is SENDING with a pending cancel: cannot replace"),
                .init(position: 2, reason: "the reminder is SENDING with a pending cancel: cannot cancel"),
            ])
        let laterBatch = IngestPlanner.plan([schedule(5)], stored: sending(pending: .cancel))
        #expect(laterBatch.writes.isEmpty)
        #expect(laterBatch.skipped.map(\.position) == [5])
    }

    @Test func aChangeInFlightFromAnotherUserIsRejectedNotDeferred() {
        let plan = IngestPlanner.plan([cancel(0, user: "intruder")], stored: sending(user: "owner"))
        #expect(plan.writes.isEmpty)
        #expect(plan.rejected.map(\.reason) == [.ownershipConflict])
    }

    @Test func aScheduleForADeliveredReminderIsSkipped() {
        let plan = IngestPlanner.plan([schedule(0)], stored: ["r": .init(id: 1, state: .delivered, userID: "u")])
        #expect(plan.writes.isEmpty)
        #expect(plan.skipped.first?.reason == "the reminder is DELIVERED: cannot replace")
    }

    @Test func aCancelForAnUnknownReminderIsSkipped() {
        let plan = IngestPlanner.plan([cancel(0, "ghost"), schedule(1, "other")], stored: [:])
        #expect(plan.skipped.map(\.position) == [0])
        #expect(plan.writes.map(\.reminderID) == ["other"])
    }

    @Test func remindersKeepTheirFirstAppearanceOrder() {
        let plan = IngestPlanner.plan([schedule(0, "b"), schedule(1, "a"), cancel(2, "b")], stored: [:])
        #expect(plan.writes.map(\.reminderID) == ["b", "a"])
        #expect(plan.writes[0].finalState == .cancelled)
    }
}
