/// An outcome a reminder's publisher is told about on the status topic
/// (`schemas/reminder-status.v1.json`). The planners decide them with the transitions
/// that cause them, so a store writes them in the same transaction as the state change.
public struct StatusUpdate: Sendable, Hashable {
    /// The record's `type`. The raw values are the contract's (and the store's).
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// The reminder (or a recurring reminder's occurrence) waits for its due time:
        /// created, replaced, replayed, or the next occurrence of a series.
        case scheduled
        /// A provider accepted it.
        case delivered
        /// A delivery attempt failed; `willRetry` says whether it is attempted again.
        case attemptFailed = "attempt_failed"
        /// It will never be delivered; a dead letter with the reason went to the
        /// dead-letter topic.
        case deadLettered = "dead_lettered"
        /// The publisher's cancel took effect: nothing more is sent (for a recurring
        /// reminder, no further occurrence).
        case cancelled
        /// Its `expires_at` passed before it could be delivered.
        case expired
    }

    /// Which occurrence of a recurring reminder it is about.
    public enum Occurrence: Sendable, Hashable {
        /// The one the transition started from (the attempt's, or the only one).
        case current
        /// The one the transitions lead to: the series' next occurrence, or the first one
        /// of a replacement.
        case next
    }

    public var kind: Kind
    public var occurrence: Occurrence
    /// `attemptFailed`: whether the same occurrence is attempted again.
    public var willRetry: Bool?
    /// `deadLettered` and `expired`: the dead-letter reason.
    public var reason: DeadLetterReason?
    /// Free text without personal data (why a cancel ended a series, and the like).
    public var detail: String?

    public init(
        _ kind: Kind, occurrence: Occurrence = .current, willRetry: Bool? = nil, reason: DeadLetterReason? = nil,
        detail: String? = nil
    ) {
        self.kind = kind
        self.occurrence = occurrence
        self.willRetry = willRetry
        self.reason = reason
        self.detail = detail
    }

    /// What an ingest transition tells the publisher: a schedule or a replacement that
    /// took effect is `scheduled`, a cancel that took effect `cancelled`; a change deferred
    /// while an attempt is in flight tells nothing yet (its outcome will).
    public static func ingest(_ transition: IngestPlanner.Transition) -> StatusUpdate? {
        guard transition.from != ReminderStateMachine.claimTarget || transition.to != transition.from else {
            return nil
        }
        switch (transition.event, transition.to) {
        case (.schedule, .scheduled), (.replace, .scheduled): return StatusUpdate(.scheduled, occurrence: .next)
        case (.cancel, .cancelled): return StatusUpdate(.cancelled)
        default: return nil
        }
    }

    /// What a replay that resets a reminder tells: it is scheduled again.
    public static let replayed = StatusUpdate(.scheduled, detail: "replayed from its dead letter")
}
