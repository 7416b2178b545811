/// Where a reminder stands on each of its channels, across delivery attempts: transient
/// failures so far, and which channels are closed for good. Persisted with the reminder,
/// so a retry after a restart resumes from the same place.
public struct ChannelProgress: Sendable, Equatable {
    public enum Status: Character, Sendable, Equatable {
        /// May be tried.
        case open = "o"
        /// Failed permanently: never tried again for this reminder.
        case permanent = "p"
        /// Used up its attempts of the retry policy.
        case exhausted = "x"
    }

    /// Transient failures per channel, in the event's channel order.
    public private(set) var failures: [Int]
    public private(set) var statuses: [Status]

    public init(channelCount: Int) {
        failures = Array(repeating: 0, count: channelCount)
        statuses = Array(repeating: .open, count: channelCount)
    }

    /// Restores persisted progress; entries missing for a channel count as untried (an
    /// empty record is a reminder that was never attempted).
    public init(channelCount: Int, failures: [Int], statuses: String) {
        self.init(channelCount: channelCount)
        for (index, count) in failures.prefix(channelCount).enumerated() { self.failures[index] = max(count, 0) }
        for (index, code) in statuses.prefix(channelCount).enumerated() {
            self.statuses[index] = Status(rawValue: code) ?? .open
        }
    }

    /// The persisted form of `statuses`: one character per channel.
    public var statusCodes: String { String(statuses.map(\.rawValue)) }

    /// The first channel still open at or after `index`.
    public func firstOpenChannel(from index: Int = 0) -> Int? {
        guard index < statuses.count else { return nil }
        return statuses[index...].firstIndex(of: .open)
    }

    mutating func recordFailure(of channel: Int) -> Int {
        failures[channel] += 1
        return failures[channel]
    }

    mutating func close(_ channel: Int, as status: Status) {
        statuses[channel] = status
    }
}
