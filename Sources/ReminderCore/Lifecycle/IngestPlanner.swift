/// Decides, without I/O, what a batch of new events does to the reminders they name:
/// events for one reminder are applied in the order they were published, so
/// schedule → replace → cancel ends cancelled wherever the batch boundaries fall.
///
/// A reminder belongs to the user whose `schedule` created it (reminder ids are global):
/// a replace or cancel that names another `user_id` changes nothing and is rejected as
/// `ownership_conflict`, so no publisher changes another user's reminder.
///
/// A cancel or replace for a reminder being sent cannot stop the send: it is stored as
/// the reminder's `PendingChange` (with its transition in the history), and the attempt's
/// outcome decides (`CompletionPlanner`).
public enum IngestPlanner {
    /// A new (not duplicate) valid event, at its position in the batch.
    public struct Input: Sendable {
        public let position: Int
        public let event: ReminderEvent

        public init(position: Int, event: ReminderEvent) {
            self.position = position
            self.event = event
        }
    }

    /// A reminder as stored before the batch.
    public struct Stored: Sendable, Equatable {
        public let id: Int64
        public let state: ReminderState
        /// Whose reminder it is: the `user_id` of the schedule that created it.
        public let userID: String
        /// What waits on it for the outcome of the attempt in flight.
        public let pending: PendingChange?
        /// The number of its current occurrence; nil for a reminder that never recurred.
        public let occurrence: Int?
        /// The wall-clock instant of its last occurrence done (delivered or dead-lettered).
        public let previousOccurrenceAt: Instant?
        /// The wall-clock instant of its current occurrence (the one in flight when it is
        /// being sent).
        public let currentOccurrenceAt: Instant?

        public init(
            id: Int64, state: ReminderState, userID: String, pending: PendingChange? = nil, occurrence: Int? = nil,
            previousOccurrenceAt: Instant? = nil, currentOccurrenceAt: Instant? = nil
        ) {
            self.id = id
            self.state = state
            self.userID = userID
            self.pending = pending
            self.occurrence = occurrence
            self.previousOccurrenceAt = previousOccurrenceAt
            self.currentOccurrenceAt = currentOccurrenceAt
        }

        /// Where a schedule that replaces this reminder starts its occurrences: numbered on
        /// from the current one (a number is never given twice: an occurrence that was
        /// attempted may have reached a provider under its key), after the last one done,
        /// or, for one in flight, after that one (the replacement takes over from the next).
        func continuation(inFlight: Bool) -> Continuation? {
            guard let occurrence else { return nil }
            return Continuation(number: occurrence + 1, after: inFlight ? currentOccurrenceAt : previousOccurrenceAt)
        }
    }

    /// How a schedule's occurrences are numbered and where they start: its row's first
    /// occurrence is `RecurrenceCalculator.first(of:number:after:)`.
    public struct Continuation: Sendable, Equatable {
        public let number: Int
        /// Its first occurrence is the first after this instant (nil: its start).
        public let after: Instant?

        public init(number: Int, after: Instant?) {
            self.number = number
            self.after = after
        }

        /// A reminder scheduled for the first time.
        public static let start = Continuation(number: 1, after: nil)
    }

    public struct Transition: Sendable, Equatable {
        public let from: ReminderState
        public let to: ReminderState
        public let event: ReminderEventKind
        /// The batch position of the event that caused it.
        public let position: Int
        /// Free text for the history (a deferred event says so).
        public let detail: String?

        public init(
            from: ReminderState, to: ReminderState, event: ReminderEventKind, position: Int, detail: String? = nil
        ) {
            self.from = from
            self.to = to
            self.event = event
            self.position = position
            self.detail = detail
        }
    }

    /// What waits on a reminder in flight for its attempt's outcome, as a batch leaves it.
    public enum Pending: Sendable, Equatable {
        case cancel
        /// The schedule at this batch position replaces the reminder unless the attempt
        /// in flight is accepted.
        case replace(contentFrom: Int)

        public var change: PendingChange {
            switch self {
            case .cancel: .cancel
            case .replace: .replace
            }
        }
    }

    /// The history's note on an event deferred while a send was in flight.
    public static let deferredDetail = "pending: applies unless the attempt in flight is accepted"

    /// What to write for one reminder.
    public struct Write: Sendable, Equatable {
        public let reminderID: String
        /// The stored row to update; nil to insert a new one.
        public let existing: Int64?
        public let finalState: ReminderState
        /// The position of the schedule whose content the row takes; nil to keep the row's.
        public let contentFrom: Int?
        public let transitions: [Transition]
        /// For a reminder in flight (its state unchanged): the change that now waits for
        /// the attempt's outcome.
        public let pending: Pending?
        /// How the occurrences of the schedule written (`contentFrom`, or the pending
        /// replacement) are numbered and where they start; nil for a one-off reminder that
        /// never recurred.
        public let continuation: Continuation?

        public init(
            reminderID: String, existing: Int64?, finalState: ReminderState, contentFrom: Int?,
            transitions: [Transition], pending: Pending? = nil, continuation: Continuation? = nil
        ) {
            self.reminderID = reminderID
            self.existing = existing
            self.finalState = finalState
            self.contentFrom = contentFrom
            self.transitions = transitions
            self.pending = pending
            self.continuation = continuation
        }

        /// Whether the row this write inserts records the reminder's first transition,
        /// its creation (`ReminderStateMachine.creation`): a new reminder's first event
        /// is always its schedule.
        public var rowRecordsCreation: Bool {
            guard existing == nil, let first = transitions.first else { return false }
            let creation = ReminderStateMachine.creation
            return first.from == creation.from && first.to == creation.to && first.event == creation.event
                && first.detail == creation.detail
        }

        /// The transitions the history keeps as rows of their own: all but the one the
        /// inserted row records.
        public var transitionRows: ArraySlice<Transition> {
            rowRecordsCreation ? transitions.dropFirst() : transitions[...]
        }
    }

    /// An event that changes nothing, and why (logged and counted, never silent).
    public struct Skipped: Sendable, Equatable {
        public let position: Int
        public let reason: String

        public init(position: Int, reason: String) {
            self.position = position
            self.reason = reason
        }
    }

    /// An event refused: it changes nothing and goes to the dead-letter topic.
    public struct Rejected: Sendable, Equatable {
        public let position: Int
        /// The event refused: its key and correlation id go with its dead letter.
        public let event: ReminderEvent
        public let reason: DeadLetterReason
        /// Names the field at fault; no personal data.
        public let error: String
    }

    public struct Plan: Sendable, Equatable {
        public var writes: [Write] = []
        public var skipped: [Skipped] = []
        public var rejected: [Rejected] = []
    }

    /// - Parameters:
    ///   - inputs: new events in batch (partition) order.
    ///   - stored: the current state of the reminders they name, by reminder id.
    public static func plan(_ inputs: [Input], stored: [String: Stored]) -> Plan {
        // Each reminder's inputs in batch order, as a chain through `inputs`: the index of
        // its first and, for each input, the next of the same reminder. Not an array for
        // each reminder: nearly every reminder of a batch has one event.
        var firsts: [(reminderID: String, index: Int)] = []
        firsts.reserveCapacity(inputs.count)
        var lasts: [String: Int] = [:]
        lasts.reserveCapacity(inputs.count)
        var nexts = [Int?](repeating: nil, count: inputs.count)
        for index in inputs.indices {
            if let last = lasts.updateValue(index, forKey: inputs[index].event.reminderID) {
                nexts[last] = index
            } else {
                firsts.append((inputs[index].event.reminderID, index))
            }
        }
        var plan = Plan()
        for (reminderID, first) in firsts {
            let group = sequence(first: first) { nexts[$0] }.lazy.map { inputs[$0] }
            let existing = stored[reminderID]
            var state = existing?.state
            var owner = existing?.userID
            var contentFrom: Int?
            var pending: Pending?
            var transitions: [Transition] = []
            for input in group {
                if let owner, input.event.userID != owner {
                    plan.rejected.append(
                        Rejected(
                            position: input.position, event: input.event, reason: .ownershipConflict,
                            error: "user_id: the reminder belongs to another user"))
                    continue
                }
                let kind: ReminderEventKind
                switch input.event.action {
                case .schedule: kind = state == nil ? .schedule : .replace
                case .cancel: kind = .cancel
                }
                let from = state ?? .pending
                if state == nil && kind == .cancel {
                    plan.skipped.append(
                        Skipped(position: input.position, reason: "cancel for a reminder never scheduled"))
                    continue
                }
                if case .schedule(let schedule) = input.event.action, let recurrence = schedule.recurrence,
                    let continuation = existing?.continuation(inFlight: from == ReminderStateMachine.claimTarget),
                    !Self.hasOccurrence(schedule, recurrence, continuation)
                {
                    plan.skipped.append(
                        Skipped(
                            position: input.position,
                            reason: "the new rule has no occurrence after the reminder's last one"))
                    continue
                }
                if let deferral = ReminderStateMachine.deferral(
                    of: kind, in: from, pending: pending?.change ?? existing?.pending)
                {
                    switch deferral {
                    case .deferred(let change):
                        transitions.append(
                            Transition(
                                from: from, to: from, event: kind, position: input.position, detail: deferredDetail))
                        pending = change == .cancel ? .cancel : .replace(contentFrom: input.position)
                    case .refused:
                        let waiting = (pending?.change ?? existing?.pending).map { " with a pending \($0.rawValue)" }
                        plan.skipped.append(
                            Skipped(
                                position: input.position,
                                reason: "the reminder is \(from.rawValue)\(waiting ?? ""): cannot \(kind.rawValue)"))
                    }
                    continue
                }
                do {
                    let to = try ReminderStateMachine.transition(from: from, on: kind)
                    transitions.append(Transition(from: from, to: to, event: kind, position: input.position))
                    state = to
                    owner = owner ?? input.event.userID
                    if kind != .cancel { contentFrom = input.position }
                } catch {
                    plan.skipped.append(
                        Skipped(
                            position: input.position,
                            reason: "the reminder is \(from.rawValue): cannot \(kind.rawValue)"))
                }
            }
            guard let finalState = state, !transitions.isEmpty else { continue }
            let schedulePosition: Int?
            if case .replace(let position)? = pending {
                schedulePosition = position
            } else {
                schedulePosition = contentFrom
            }
            var continuation: Continuation?
            if let position = schedulePosition,
                let input = group.first(where: { $0.position == position }),
                case .schedule(let schedule) = input.event.action
            {
                continuation =
                    existing?.continuation(inFlight: pending != nil)
                    ?? (schedule.recurrence == nil ? nil : .start)
            }
            plan.writes.append(
                Write(
                    reminderID: reminderID, existing: existing?.id, finalState: finalState, contentFrom: contentFrom,
                    transitions: transitions, pending: pending, continuation: continuation))
        }
        return plan
    }

    /// Whether `schedule`'s rule has an occurrence where `continuation` starts it.
    private static func hasOccurrence(
        _ schedule: ReminderSchedule, _ rule: RecurrenceRule, _ continuation: Continuation
    ) -> Bool {
        guard case .local(let start) = schedule.deliverAt else { return false }
        let series = RecurrenceCalculator.Series(
            rule: rule, start: start, timeZone: schedule.timeZone, quietHours: schedule.quietHours,
            expiresAt: schedule.expiresAt)
        return RecurrenceCalculator.first(of: series, number: continuation.number, after: continuation.after) != nil
    }
}
