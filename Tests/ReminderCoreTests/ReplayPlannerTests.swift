import Foundation
import ReminderCore
import Testing

@Suite struct ReplayPlannerTests {
    static let replayable = ReplayPlanner.DeadLetterFacts(reason: .deliveryExhausted, reminder: 42)

    @Test func theLatestDeadLetterOfADeadLetteredReminderResetsIt() {
        let decision = ReplayPlanner.decide(
            deadLetterID: "d1", deadLetter: Self.replayable, replayedBefore: false,
            reminder: .init(state: .deadLetter, isLatestDeadLetter: true))
        #expect(
            decision
                == .reset(
                    reminder: 42,
                    ReminderTransition(from: .deadLetter, to: .scheduled, event: .replay, detail: "dead letter d1")))
    }

    @Test func aSecondReplayOfTheSameDeadLetterChangesNothing() {
        let decision = ReplayPlanner.decide(
            deadLetterID: "d1", deadLetter: Self.replayable, replayedBefore: true,
            reminder: .init(state: .deadLetter, isLatestDeadLetter: true))
        guard case .ignored = decision else {
            Issue.record("expected ignored, got \(decision)")
            return
        }
    }

    @Test func anOlderDeadLetterOfTheReminderChangesNothing() {
        let decision = ReplayPlanner.decide(
            deadLetterID: "d1", deadLetter: Self.replayable, replayedBefore: false,
            reminder: .init(state: .deadLetter, isLatestDeadLetter: false))
        guard case .ignored = decision else {
            Issue.record("expected ignored, got \(decision)")
            return
        }
    }

    /// Every state but DEAD_LETTER refuses a replay: the reminder has moved on.
    @Test(arguments: ReminderState.allCases)
    func onlyADeadLetteredReminderIsReset(state: ReminderState) {
        let decision = ReplayPlanner.decide(
            deadLetterID: "d1", deadLetter: Self.replayable, replayedBefore: false,
            reminder: .init(state: state, isLatestDeadLetter: true))
        switch decision {
        case .reset: #expect(state == .deadLetter)
        case .ignored: #expect(state != .deadLetter)
        case .invalid: Issue.record("a replayable dead letter is never invalid: \(decision)")
        }
    }

    @Test(arguments: DeadLetterReason.allCases)
    func reasonsThatReplayingCannotMendAreInvalid(reason: DeadLetterReason) {
        let decision = ReplayPlanner.decide(
            deadLetterID: "d1", deadLetter: .init(reason: reason, reminder: 7), replayedBefore: false,
            reminder: .init(state: .deadLetter, isLatestDeadLetter: true))
        if reason.isReplayable {
            #expect(
                decision
                    == .reset(
                        reminder: 7, .init(from: .deadLetter, to: .scheduled, event: .replay, detail: "dead letter d1"))
            )
        } else {
            #expect(
                decision
                    == .invalid(
                        "dead letters of reason \(reason.rawValue) cannot be replayed; publish a corrected event instead"
                    ))
        }
    }

    @Test func anUnknownDeadLetterOrOneWithoutReminderIsInvalid() {
        #expect(
            ReplayPlanner.decide(deadLetterID: "d1", deadLetter: nil, replayedBefore: false, reminder: nil)
                == .invalid("no dead letter has this id"))
        #expect(
            ReplayPlanner.decide(
                deadLetterID: "d1", deadLetter: .init(reason: .expired, reminder: nil), replayedBefore: false,
                reminder: nil) == .invalid("the dead letter names no reminder"))
        #expect(
            ReplayPlanner.decide(
                deadLetterID: "d1", deadLetter: .init(reason: nil, reminder: 1), replayedBefore: false,
                reminder: nil)
                == .invalid("dead letters of reason unknown cannot be replayed; publish a corrected event instead"))
    }

    @Test func aReminderThatNoLongerExistsIsIgnored() {
        let decision = ReplayPlanner.decide(
            deadLetterID: "d1", deadLetter: Self.replayable, replayedBefore: false, reminder: nil)
        guard case .ignored = decision else {
            Issue.record("expected ignored, got \(decision)")
            return
        }
    }

    @Test func aRunResetsAReminderOnceAndSeesItsOwnEarlierReplays() {
        let first = UUID()
        let unknown = UUID()
        let plan = ReplayPlanner.plan(
            [
                .init(position: 0, deadLetter: first), .init(position: 1, deadLetter: first),
                .init(position: 2, deadLetter: unknown),
            ],
            deadLetters: [first: Self.replayable], reminders: [42: .init(state: .deadLetter, latestDeadLetter: first)],
            replayedBefore: [])
        #expect(plan.resets.map(\.position) == [0])
        #expect(plan.resets.first?.reminder == 42)
        #expect(plan.resets.first?.transition.to == .scheduled)
        #expect(plan.ignored == 1)
        #expect(plan.invalid.map(\.position) == [2])
        #expect(plan.invalid.first?.problem == "no dead letter has this id")
        #expect(plan.newlyReplayed == [first])
    }

    @Test func aDeadLetterReplayedInAnEarlierBatchIsIgnoredAndNotRecordedAgain() {
        let id = UUID()
        let plan = ReplayPlanner.plan(
            [.init(position: 0, deadLetter: id)], deadLetters: [id: Self.replayable],
            reminders: [42: .init(state: .deadLetter, latestDeadLetter: id)], replayedBefore: [id])
        #expect(plan.resets.isEmpty)
        #expect(plan.ignored == 1)
        #expect(plan.newlyReplayed.isEmpty)
    }

    @Test func twoDeadLettersOfOneReminderInARunResetItOnlyForTheLatest() {
        let (older, latest) = (UUID(), UUID())
        let plan = ReplayPlanner.plan(
            [.init(position: 0, deadLetter: older), .init(position: 1, deadLetter: latest)],
            deadLetters: [older: Self.replayable, latest: Self.replayable],
            reminders: [42: .init(state: .deadLetter, latestDeadLetter: latest)], replayedBefore: [])
        #expect(plan.resets.map(\.position) == [1])
        #expect(plan.ignored == 1)
        #expect(plan.newlyReplayed == [older, latest])
    }
}
