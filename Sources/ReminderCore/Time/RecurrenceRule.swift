/// How a schedule repeats: the subset of RFC 5545's RRULE the contract accepts
/// (`recurrence` in `schemas/reminder-event.v1.json`). The first occurrence is the
/// schedule's `deliver_at_local` (RFC 5545's DTSTART), in the schedule's zone; every
/// occurrence is at that time of day.
public struct RecurrenceRule: Sendable, Hashable {
    public enum Frequency: String, Sendable, Hashable, CaseIterable {
        case daily, weekly, monthly
    }

    /// Where a series ends (besides the cap, a cancel and `expires_at`).
    public enum End: Sendable, Hashable {
        /// Runs until the cap on occurrences.
        case never
        /// After this many occurrences, the first included (RFC 5545 COUNT).
        case count(Int)
        /// No occurrence whose wall-clock time is read as an instant after this one
        /// (RFC 5545 UNTIL, inclusive).
        case until(Instant)
    }

    /// No series has more occurrences than this: COUNT above it is refused, and a rule
    /// without COUNT ends at its 1,000th occurrence.
    public static let maximumOccurrences = 1_000
    /// The largest INTERVAL accepted.
    public static let maximumInterval = 1_000

    public var frequency: Frequency
    /// Every `interval`-th day, week or month (1 for every one).
    public var interval: Int
    /// BYDAY (weekly rules only), Monday first, without repeats; empty: the weekday of the
    /// first occurrence.
    public var weekdays: [Weekday]
    /// BYMONTHDAY (monthly rules only): 1…31, or -1…-31 counted from the month's end;
    /// empty: the day of the first occurrence. A day a month does not have is skipped in
    /// that month (RFC 5545: such instances are ignored, not moved).
    public var monthDays: [Int]
    public var end: End

    public init(
        frequency: Frequency, interval: Int = 1, weekdays: [Weekday] = [], monthDays: [Int] = [], end: End = .never
    ) {
        self.frequency = frequency
        self.interval = interval
        self.weekdays = weekdays
        self.monthDays = monthDays
        self.end = end
    }

    /// The rule's own limit on occurrences (COUNT, or the cap).
    public var occurrenceLimit: Int {
        if case .count(let count) = end { return min(count, Self.maximumOccurrences) }
        return Self.maximumOccurrences
    }
}

/// A day of the week, as RFC 5545 spells it.
public enum Weekday: String, Sendable, Hashable, CaseIterable, Comparable {
    case monday = "MO", tuesday = "TU", wednesday = "WE", thursday = "TH", friday = "FR", saturday = "SA"
    case sunday = "SU"

    /// ISO 8601's number: Monday 1 … Sunday 7.
    public var isoNumber: Int { Self.allCases.firstIndex(of: self)! + 1 }

    public init(of date: CivilDate) {
        // 1970-01-01 was a Thursday.
        let index = Int(((date.daysSinceEpoch + 3) % 7 + 7) % 7)
        self = Self.allCases[index]
    }

    public static func < (lhs: Weekday, rhs: Weekday) -> Bool { lhs.isoNumber < rhs.isoNumber }
}
