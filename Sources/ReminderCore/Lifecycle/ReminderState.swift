/// Where a reminder is in its life. The raw values are what the database stores.
///
/// ```
/// PENDING → SCHEDULED → SENDING → DELIVERED
///                   ↘ FAILED → RETRY → SENDING
///                            ↘ DEAD_LETTER
/// CANCELLED from any state before SENDING; SENDING → SCHEDULED on `postpone`
/// DELIVERED, DEAD_LETTER → SCHEDULED on `recur` (a recurring reminder's next occurrence)
/// ```
///
/// A cancel or replace that arrives while a reminder is SENDING waits as a
/// `PendingChange` for the attempt's outcome (`ReminderStateMachine.deferral`).
public enum ReminderState: String, Sendable, Hashable, CaseIterable {
    case pending = "PENDING"
    case scheduled = "SCHEDULED"
    case sending = "SENDING"
    case delivered = "DELIVERED"
    case failed = "FAILED"
    case retry = "RETRY"
    case deadLetter = "DEAD_LETTER"
    case cancelled = "CANCELLED"

    /// No event moves a reminder out of these, except a replay out of `deadLetter` and, for
    /// a recurring reminder, the next occurrence (`recur`).
    public var isTerminal: Bool {
        switch self {
        case .delivered, .deadLetter, .cancelled: true
        default: false
        }
    }
}

/// What happens to a reminder.
public enum ReminderEventKind: String, Sendable, Hashable, CaseIterable {
    /// Its due time is known: it waits for the dispatcher.
    case schedule
    /// A dispatcher took it to send (also a retake after another's lease expired).
    case claim
    /// A provider accepted it.
    case deliver
    /// Claimed inside the user's quiet hours (a retry, replay or takeover that fell due
    /// there): it waits for their end without being sent.
    case postpone
    /// A delivery attempt failed.
    case fail
    /// The failure is worth another attempt later.
    case scheduleRetry
    /// It will never be delivered (permanent failure, attempts exhausted, expired):
    /// a dead-letter record goes with it.
    case deadLetter
    /// The publisher cancelled it before it was sent (or, arriving while it was being
    /// sent, before that attempt succeeded).
    case cancel
    /// A newer `schedule` for the same reminder replaced it before it was sent (or,
    /// arriving while it was being sent, before that attempt succeeded).
    case replace
    /// An operator replayed its dead letter: it is delivered again from the start.
    case replay
    /// A recurring reminder's occurrence is done (delivered or dead-lettered) and the next
    /// one waits for the dispatcher. Only `CompletionPlanner` asks for it, in the
    /// transaction that records the occurrence's outcome.
    case recur
}

/// The reminder state machine: a pure function from a state and what happened to the
/// next state, or an error when that cannot happen in that state.
public enum ReminderStateMachine {
    public struct InvalidTransition: Error, Sendable, Equatable, CustomStringConvertible {
        public let state: ReminderState
        public let event: ReminderEventKind

        public init(state: ReminderState, event: ReminderEventKind) {
            self.state = state
            self.event = event
        }

        public var description: String { "a reminder in state \(state.rawValue) cannot \(event.rawValue)" }
    }

    /// A reminder's creation: its first schedule takes it out of PENDING. The history
    /// does not keep it as a transition row of its own: the reminder's row records it
    /// (migration 0014, view `reminder_history`), at the row's creation time.
    public static let creation = ReminderTransition(from: .pending, to: .scheduled, event: .schedule)

    public static func transition(from state: ReminderState, on event: ReminderEventKind)
        throws(InvalidTransition) -> ReminderState
    {
        switch (state, event) {
        case (.pending, .schedule): return .scheduled
        case (.scheduled, .claim), (.retry, .claim), (.sending, .claim): return .sending
        case (.sending, .deliver): return .delivered
        case (.sending, .postpone): return .scheduled
        case (.sending, .fail): return .failed
        case (.failed, .scheduleRetry): return .retry
        case (.failed, .deadLetter), (.scheduled, .deadLetter), (.retry, .deadLetter): return .deadLetter
        case (.pending, .cancel), (.scheduled, .cancel), (.failed, .cancel), (.retry, .cancel): return .cancelled
        case (.pending, .replace), (.scheduled, .replace), (.failed, .replace), (.retry, .replace): return .scheduled
        case (.deadLetter, .replay): return .scheduled
        case (.delivered, .recur), (.deadLetter, .recur): return .scheduled
        default: throw InvalidTransition(state: state, event: event)
        }
    }
}

extension ReminderStateMachine {
    /// The states out of which `event` moves a reminder, in declaration order.
    public static func states(accepting event: ReminderEventKind) -> [ReminderState] {
        ReminderState.allCases.filter { (try? transition(from: $0, on: event)) != nil }
    }

    /// Where a claim takes a reminder: in flight, leased to one sender. Every claimable
    /// state leads there.
    public static let claimTarget: ReminderState = {
        let targets = Set(states(accepting: .claim).compactMap { try? transition(from: $0, on: .claim) })
        precondition(targets.count == 1, "a claim leads to one state")
        return targets.first!
    }()

    /// The states a dispatcher claims a reminder from once it is due (the store's
    /// partial index `reminders_due` covers exactly these).
    public static var waitingStates: [ReminderState] {
        states(accepting: .claim).filter { $0 != claimTarget }
    }

    /// Whether a reminder whose lease ran out in flight may be claimed by another sender.
    public static var takesOverExpiredLeases: Bool {
        states(accepting: .claim).contains(claimTarget)
    }

    /// Where an attempt in flight leaves a reminder when it does not succeed (a failure,
    /// a lease that ran out, a sender that died).
    public static let unsuccessfulAttemptTarget: ReminderState = {
        do {
            return try transition(from: claimTarget, on: .fail)
        } catch {
            preconditionFailure("an attempt in flight can fail: \(error)")
        }
    }()

    /// The state `pending` leaves a reminder in once the attempt in flight has ended
    /// without delivery.
    public static func applied(_ pending: PendingChange) -> ReminderState {
        do {
            return try transition(from: unsuccessfulAttemptTarget, on: pending.event)
        } catch {
            preconditionFailure("a pending change applies after a failed attempt: \(error)")
        }
    }

    /// How `event` arriving at a reminder in `state` with `pending` already waiting on it
    /// is applied: nil when it applies now, as `transition(from:on:)` says. While an
    /// attempt is in flight a cancel or replace cannot take effect (the send has started);
    /// it is judged against the state the attempt leaves the reminder in if it does not
    /// succeed, after what is already pending, and its result waits for the outcome.
    public static func deferral(of event: ReminderEventKind, in state: ReminderState, pending: PendingChange?)
        -> Deferral?
    {
        guard state == claimTarget, let change = PendingChange(deferring: event) else { return nil }
        let judgedFrom =
            pending.flatMap { try? transition(from: unsuccessfulAttemptTarget, on: $0.event) }
            ?? unsuccessfulAttemptTarget
        guard (try? transition(from: judgedFrom, on: event)) != nil else {
            return .refused(InvalidTransition(state: judgedFrom, event: event))
        }
        return .deferred(change)
    }

    /// What happens to an event that arrives while an attempt is in flight.
    public enum Deferral: Sendable, Equatable {
        /// It waits on the reminder as this pending change (replacing what was pending).
        case deferred(PendingChange)
        /// It could not apply even after the attempt (a replace after a pending cancel).
        case refused(InvalidTransition)
    }
}
