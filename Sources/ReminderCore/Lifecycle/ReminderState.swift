/// Where a reminder is in its life. The raw values are what the database stores.
///
/// ```
/// PENDING → SCHEDULED → SENDING → DELIVERED
///                   ↘ FAILED → RETRY → SENDING
///                            ↘ DEAD_LETTER
/// CANCELLED from any state before SENDING
/// ```
public enum ReminderState: String, Sendable, Hashable, CaseIterable {
    case pending = "PENDING"
    case scheduled = "SCHEDULED"
    case sending = "SENDING"
    case delivered = "DELIVERED"
    case failed = "FAILED"
    case retry = "RETRY"
    case deadLetter = "DEAD_LETTER"
    case cancelled = "CANCELLED"

    /// No event moves a reminder out of these, except a replay out of `deadLetter`.
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
    /// A delivery attempt failed.
    case fail
    /// The failure is worth another attempt later.
    case scheduleRetry
    /// It will never be delivered (permanent failure, attempts exhausted, expired):
    /// a dead-letter record goes with it.
    case deadLetter
    /// The publisher cancelled it before it was sent.
    case cancel
    /// A newer `schedule` for the same reminder replaced it before it was sent.
    case replace
    /// An operator replayed its dead letter: it is delivered again from the start.
    case replay
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

    public static func transition(from state: ReminderState, on event: ReminderEventKind)
        throws(InvalidTransition) -> ReminderState
    {
        switch (state, event) {
        case (.pending, .schedule): return .scheduled
        case (.scheduled, .claim), (.retry, .claim), (.sending, .claim): return .sending
        case (.sending, .deliver): return .delivered
        case (.sending, .fail): return .failed
        case (.failed, .scheduleRetry): return .retry
        case (.failed, .deadLetter), (.scheduled, .deadLetter), (.retry, .deadLetter): return .deadLetter
        case (.pending, .cancel), (.scheduled, .cancel), (.failed, .cancel), (.retry, .cancel): return .cancelled
        case (.pending, .replace), (.scheduled, .replace), (.failed, .replace), (.retry, .replace): return .scheduled
        case (.deadLetter, .replay): return .scheduled
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
}
