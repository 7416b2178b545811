import ReminderCore
import Testing

@Suite struct ErasurePlannerTests {
    @Test(arguments: ReminderState.allCases)
    func everyStateIsCancelledAwaitedOrFinished(state: ReminderState) {
        for pending in [nil] + PendingChange.allCases.map(Optional.some) {
            let step = ErasurePlanner.step(state: state, pending: pending)
            switch state {
            case .delivered, .cancelled, .deadLetter:
                #expect(step == .finished)
            case .sending:
                #expect(step == .awaitAttempt(.cancel), "pending \(String(describing: pending))")
            case .pending, .scheduled, .failed, .retry:
                guard case .cancel(let transition, let status) = step else {
                    Issue.record("\(state) should be cancelled now, got \(step)")
                    continue
                }
                #expect(transition.from == state)
                #expect(transition.to == .cancelled)
                #expect(transition.event == .cancel)
                #expect(status.kind == .cancelled)
            }
        }
    }

    @Test func aCancelWaitingOnASendEndsCancelledUnlessTheSendWasAccepted() {
        // What the erasure waits for: the pending cancel applies when the attempt fails or
        // its lease runs out, and only a finished reminder is erased.
        guard case .awaitAttempt(let change) = ErasurePlanner.step(state: .sending, pending: .replace) else {
            Issue.record("a reminder being sent is awaited")
            return
        }
        #expect(ReminderStateMachine.applied(change) == .cancelled)
        #expect(ErasurePlanner.mayErase(ReminderStateMachine.applied(change)))
    }

    @Test(arguments: ReminderState.allCases)
    func onlyFinishedRemindersAreErased(state: ReminderState) {
        #expect(ErasurePlanner.mayErase(state) == [.delivered, .cancelled, .deadLetter].contains(state))
    }

    @Test func theUserOfAnInvalidEventIsReadWhenItHasOne() {
        #expect(ReminderEventDecoder.userID(ofInvalid: Array(#"{"user_id":"u-1","type":"?"}"#.utf8)) == "u-1")
        #expect(ReminderEventDecoder.userID(ofInvalid: Array(#"{"user_id":7}"#.utf8)) == nil)
        #expect(ReminderEventDecoder.userID(ofInvalid: Array(#"{"user_id":""}"#.utf8)) == nil)
        #expect(ReminderEventDecoder.userID(ofInvalid: Array(#"["user_id","u-1"]"#.utf8)) == nil)
        #expect(ReminderEventDecoder.userID(ofInvalid: Array("not json".utf8)) == nil)
        #expect(ReminderEventDecoder.userID(ofInvalid: nil) == nil)
        let long = String(repeating: "x", count: 129)
        #expect(ReminderEventDecoder.userID(ofInvalid: Array(#"{"user_id":"\#(long)"}"#.utf8)) == nil)
    }
}
