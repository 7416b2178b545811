import ReminderCore
import Testing

@Suite struct IngestPlannerTests {
    private func schedule(_ position: Int, _ reminder: String = "r") -> IngestPlanner.Input {
        let schedule = ReminderSchedule(
            timeZone: "UTC", deliverAt: .instant(Instant(secondsSinceEpoch: 0)), channels: [.email(to: "a@b.co")],
            content: Content(title: "t\(position)", body: "", data: nil), quietHours: nil, expiresAt: nil)
        return IngestPlanner.Input(
            position: position,
            event: ReminderEvent(
                idempotencyKey: "k\(position)", reminderID: reminder, userID: "u", correlationID: nil,
                action: .schedule(schedule)))
    }

    private func cancel(_ position: Int, _ reminder: String = "r") -> IngestPlanner.Input {
        IngestPlanner.Input(
            position: position,
            event: ReminderEvent(
                idempotencyKey: "k\(position)", reminderID: reminder, userID: "u", correlationID: nil, action: .cancel))
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

    @Test func theSameSequenceSplitAcrossBatchesEndsTheSame() {
        let first = IngestPlanner.plan([schedule(0)], stored: [:])
        let second = IngestPlanner.plan([schedule(0)], stored: ["r": .init(id: 7, state: first.writes[0].finalState)])
        let third = IngestPlanner.plan([cancel(0)], stored: ["r": .init(id: 7, state: second.writes[0].finalState)])
        #expect(second.writes[0].transitions.map(\.event) == [.replace])
        #expect(third.writes[0].existing == 7)
        #expect(third.writes[0].finalState == .cancelled)
        #expect(third.writes[0].contentFrom == nil)
    }

    @Test func aCancelAfterSendingStartedIsSkippedWithAReason() {
        let plan = IngestPlanner.plan([cancel(4)], stored: ["r": .init(id: 1, state: .sending)])
        #expect(plan.writes.isEmpty)
        #expect(plan.skipped == [.init(position: 4, reason: "the reminder is SENDING: cannot cancel")])
    }

    @Test func aScheduleForADeliveredReminderIsSkipped() {
        let plan = IngestPlanner.plan([schedule(0)], stored: ["r": .init(id: 1, state: .delivered)])
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
