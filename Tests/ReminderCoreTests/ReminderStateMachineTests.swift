import ReminderCore
import Testing

@Suite struct ReminderStateMachineTests {
    /// Every transition the design allows; every other (state, event) pair must fail.
    static let allowed: [ReminderState: [ReminderEventKind: ReminderState]] = [
        .pending: [.schedule: .scheduled, .cancel: .cancelled, .replace: .scheduled],
        .scheduled: [.claim: .sending, .deadLetter: .deadLetter, .cancel: .cancelled, .replace: .scheduled],
        .sending: [.claim: .sending, .deliver: .delivered, .postpone: .scheduled, .fail: .failed],
        .failed: [.scheduleRetry: .retry, .deadLetter: .deadLetter, .cancel: .cancelled, .replace: .scheduled],
        .retry: [.claim: .sending, .deadLetter: .deadLetter, .cancel: .cancelled, .replace: .scheduled],
        .delivered: [.recur: .scheduled],
        .deadLetter: [.replay: .scheduled, .recur: .scheduled],
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

    @Test func aCancelThatArrivesWhileSendingCannotApplyAtOnce() {
        #expect(throws: ReminderStateMachine.InvalidTransition.self) {
            try ReminderStateMachine.transition(from: .sending, on: .cancel)
        }
    }

    /// Every (state, event, pending) triple: only a cancel or replace reaching a reminder
    /// in flight is deferred; it is refused only where it could not apply after the
    /// attempt either (anything after a pending cancel).
    static let pendings: [PendingChange?] = [nil] + PendingChange.allCases.map(Optional.some)

    @Test(arguments: ReminderState.allCases)
    func onlyCancelsAndReplacesInFlightAreDeferred(state: ReminderState) {
        for event in ReminderEventKind.allCases {
            for pending in Self.pendings {
                let deferral = ReminderStateMachine.deferral(of: event, in: state, pending: pending)
                let expected: ReminderStateMachine.Deferral? =
                    switch (state, event, pending) {
                    case (.sending, .cancel, .cancel?):
                        .refused(.init(state: .cancelled, event: .cancel))
                    case (.sending, .replace, .cancel?):
                        .refused(.init(state: .cancelled, event: .replace))
                    case (.sending, .cancel, _): .deferred(.cancel)
                    case (.sending, .replace, _): .deferred(.replace)
                    default: nil
                    }
                #expect(deferral == expected, "\(state) on \(event) with \(String(describing: pending)) pending")
            }
        }
    }

    @Test func anAttemptThatDoesNotSucceedLeavesTheReminderFailed() {
        #expect(ReminderStateMachine.unsuccessfulAttemptTarget == .failed)
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
