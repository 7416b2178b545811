import Foundation

/// Decides what an operator's replay of a dead letter does: a dead letter of a reason that
/// replaying can mend resets its reminder for delivery (`ReminderStateMachine`'s `replay`),
/// once, and only while the reminder is still dead-lettered because of that very dead
/// letter. The store reads the facts, asks here, and writes the answer.
public enum ReplayPlanner {
    /// A dead letter as stored, for a replay that names it.
    public struct DeadLetterFacts: Sendable, Equatable {
        /// Nil when the stored reason is not one this version knows.
        public let reason: DeadLetterReason?
        /// The store's id of the reminder it dead-lettered, if it named one.
        public let reminder: Int64?

        public init(reason: DeadLetterReason?, reminder: Int64?) {
            self.reason = reason
            self.reminder = reminder
        }
    }

    /// The reminder a replay would reset, as stored (locked) now.
    public struct ReminderFacts: Sendable, Equatable {
        public let state: ReminderState
        /// Whether the replayed dead letter is the reminder's latest one: an older one
        /// speaks of an attempt the reminder has since moved past.
        public let isLatestDeadLetter: Bool

        public init(state: ReminderState, isLatestDeadLetter: Bool) {
            self.state = state
            self.isLatestDeadLetter = isLatestDeadLetter
        }
    }

    public enum Decision: Sendable, Equatable {
        /// Reset the reminder, recording this step.
        case reset(reminder: Int64, ReminderTransition)
        /// A valid replay that changes nothing now (replayed before, or the reminder has
        /// moved on): counted, not an error.
        case ignored(String)
        /// A replay that can never work: it is dead-lettered as invalid with this problem.
        case invalid(String)
    }

    /// Whether a replay naming `deadLetter` can be applied at all, before the reminder is
    /// looked at: nil when it can, else the problem to dead-letter it with.
    public static func problem(with deadLetter: DeadLetterFacts?) -> String? {
        guard let deadLetter else { return "no dead letter has this id" }
        guard let reason = deadLetter.reason, reason.isReplayable else {
            return "dead letters of reason \(deadLetter.reason?.rawValue ?? "unknown") cannot be replayed; "
                + "publish a corrected event instead"
        }
        return deadLetter.reminder == nil ? "the dead letter names no reminder" : nil
    }

    /// A replay in a batch: the message's position and the dead letter it names.
    public struct Replay: Sendable, Equatable {
        public let position: Int
        public let deadLetter: UUID

        public init(position: Int, deadLetter: UUID) {
            self.position = position
            self.deadLetter = deadLetter
        }
    }

    /// A reminder as stored (locked) before the batch, with the id of its latest dead letter.
    public struct StoredReminder: Sendable, Equatable {
        public let state: ReminderState
        public let latestDeadLetter: UUID?

        public init(state: ReminderState, latestDeadLetter: UUID?) {
            self.state = state
            self.latestDeadLetter = latestDeadLetter
        }
    }

    /// What a run of replays does, in the order they came.
    public struct Plan: Sendable, Equatable {
        public struct Reset: Sendable, Equatable {
            public let position: Int
            public let reminder: Int64
            public let transition: ReminderTransition
        }

        public struct Invalid: Sendable, Equatable {
            public let position: Int
            public let deadLetter: UUID
            public let problem: String
        }

        public var resets: [Reset] = []
        public var invalid: [Invalid] = []
        /// Valid replays that change nothing now.
        public var ignored = 0
        /// Every dead letter validly replayed for the first time, reset or not: recorded so
        /// that no later replay of it resets its reminder again.
        public var newlyReplayed: Set<UUID> = []
    }

    /// Decides a run of replays: each as `decide` says, a reminder reset earlier in the run
    /// seen in its new state, a dead letter replayed earlier in the run seen as replayed.
    /// - Parameters:
    ///   - deadLetters: the dead letters the replays name, as stored (missing: none has the id).
    ///   - reminders: the reminders of those dead letters, by the store's id.
    ///   - replayedBefore: which of the dead letters were replayed in an earlier batch.
    public static func plan(
        _ replays: [Replay], deadLetters: [UUID: DeadLetterFacts], reminders: [Int64: StoredReminder],
        replayedBefore: Set<UUID>
    ) -> Plan {
        var plan = Plan()
        var states = reminders.mapValues(\.state)
        var replayed = replayedBefore
        for replay in replays {
            let deadLetter = deadLetters[replay.deadLetter]
            let reminder = deadLetter?.reminder.flatMap { id in
                states[id].map {
                    ReminderFacts(state: $0, isLatestDeadLetter: reminders[id]?.latestDeadLetter == replay.deadLetter)
                }
            }
            switch decide(
                deadLetterID: replay.deadLetter.lowercasedText, deadLetter: deadLetter,
                replayedBefore: replayed.contains(replay.deadLetter), reminder: reminder)
            {
            case .invalid(let problem):
                plan.invalid.append(
                    Plan.Invalid(position: replay.position, deadLetter: replay.deadLetter, problem: problem))
                continue
            case .ignored:
                plan.ignored += 1
            case .reset(let id, let transition):
                states[id] = transition.to
                plan.resets.append(Plan.Reset(position: replay.position, reminder: id, transition: transition))
            }
            replayed.insert(replay.deadLetter)
        }
        plan.newlyReplayed = replayed.subtracting(replayedBefore)
        return plan
    }

    /// - Parameters:
    ///   - deadLetterID: shown in the history.
    ///   - replayedBefore: whether this dead letter was replayed already (earlier, or
    ///     earlier in the same batch).
    ///   - reminder: the reminder's facts; nil when it no longer exists.
    public static func decide(
        deadLetterID: String, deadLetter: DeadLetterFacts?, replayedBefore: Bool, reminder: ReminderFacts?
    ) -> Decision {
        if let problem = problem(with: deadLetter) { return .invalid(problem) }
        guard !replayedBefore else { return .ignored("the dead letter was replayed before") }
        guard let id = deadLetter?.reminder, let reminder else { return .ignored("the reminder no longer exists") }
        guard reminder.isLatestDeadLetter else {
            return .ignored("the reminder was dead-lettered again since; replay its latest dead letter")
        }
        do {
            let next = try ReminderStateMachine.transition(from: reminder.state, on: .replay)
            return .reset(
                reminder: id,
                ReminderTransition(
                    from: reminder.state, to: next, event: .replay, detail: "dead letter \(deadLetterID)"))
        } catch {
            return .ignored("\(error)")
        }
    }
}
