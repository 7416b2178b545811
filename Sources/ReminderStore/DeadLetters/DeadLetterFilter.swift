import Foundation

/// Which dead letters a list or a replay takes; every condition given must hold.
public struct DeadLetterFilter: Sendable, Equatable {
    public var ids: [UUID]?
    public var reason: String?
    /// Failed at or after.
    public var since: Date?
    /// Failed before.
    public var until: Date?
    /// Only those a replay would publish: of a replayable reason, naming a reminder, not
    /// replayed before (so that repeated bounded replays move on to older ones).
    public var replayableOnly: Bool

    public init(
        ids: [UUID]? = nil, reason: String? = nil, since: Date? = nil, until: Date? = nil, replayableOnly: Bool = false
    ) {
        self.ids = ids
        self.reason = reason
        self.since = since
        self.until = until
        self.replayableOnly = replayableOnly
    }
}
