import ReminderCore
import Testing

@Suite struct ReminderStateMachineTests {
    /// Every transition the design allows; every other (state, event) pair must fail.
    static let allowed: [ReminderState: [ReminderEventKind: ReminderState]] = [
        .pending: [.schedule: .scheduled, .cancel: .cancelled, .replace: .scheduled],
        .scheduled: [.claim: .sending, .deadLetter: .deadLetter, .cancel: .cancelled, .replace: .scheduled],
        .sending: [.claim: .sending, .deliver: .delivered, .fail: .failed],
        .failed: [.scheduleRetry: .retry, .deadLetter: .deadLetter, .cancel: .cancelled, .replace: .scheduled],
        .retry: [.claim: .sending, .deadLetter: .deadLetter, .cancel: .cancelled, .replace: .scheduled],
        .delivered: [:],
        .deadLetter: [.replay: .scheduled],
        .cancelled: [:],
    ]

    @Test(arguments: ReminderState.allCases)
    func everyEventInEveryStateFollowsTheDesign(state: ReminderState) throws {
        for event in ReminderEventKind.allCases {
            if let expected = Self.allowed[state]?[event] {
                #expect(try ReminderStateMachine.transition(from: state, on: event) == expected, "\(state) on \(event)")
            } else {
                #expect(throws: ReminderStateMachine.InvalidTransition(state: state, event: event)) {
                    try ReminderStateMachine.transition(from: state, on: event)
                }
            }
        }
    }

    @Test func aCancelThatArrivesWhileSendingLoses() {
        #expect(throws: ReminderStateMachine.InvalidTransition.self) {
            try ReminderStateMachine.transition(from: .sending, on: .cancel)
        }
    }

    @Test func theHappyPathAndTheRetryLoopEndDelivered() throws {
        var state = ReminderState.pending
        for event: ReminderEventKind in [
            .schedule, .claim, .fail, .scheduleRetry, .claim, .fail, .scheduleRetry, .claim, .deliver,
        ] {
            state = try ReminderStateMachine.transition(from: state, on: event)
        }
        #expect(state == .delivered)
        #expect(state.isTerminal)
    }

    @Test func aReplayedDeadLetterStartsOverAndCanBeDelivered() throws {
        var state = ReminderState.deadLetter
        for event: ReminderEventKind in [.replay, .claim, .deliver] {
            state = try ReminderStateMachine.transition(from: state, on: event)
        }
        #expect(state == .delivered)
    }

    /// The dispatcher's claim and the store's partial indexes (`reminders_due`,
    /// `reminders_lease` in migration 0001) follow this table.
    @Test func claimsTakeWaitingRemindersAndTakeOverExpiredLeases() {
        #expect(ReminderStateMachine.claimTarget == .sending)
        #expect(ReminderStateMachine.waitingStates == [.scheduled, .retry])
        #expect(ReminderStateMachine.takesOverExpiredLeases)
        #expect(ReminderStateMachine.states(accepting: .replay) == [.deadLetter])
    }

    @Test func storedNamesAreTheDesignsNames() {
        #expect(
            ReminderState.allCases.map(\.rawValue) == [
                "PENDING", "SCHEDULED", "SENDING", "DELIVERED", "FAILED", "RETRY", "DEAD_LETTER", "CANCELLED",
            ])
    }
}
