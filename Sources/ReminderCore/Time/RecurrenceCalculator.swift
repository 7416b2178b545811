import Foundation

/// The occurrences of a recurring reminder: where each falls on the user's wall clock
/// (RFC 5545's rules for the subset `RecurrenceRule` holds), the instant it is due (the
/// contract's DST policy, then quiet hours, as for a one-off reminder) and which one
/// comes next once an occurrence is done. Pure: the caller says what "now" is.
public enum RecurrenceCalculator {
    /// A recurring schedule as stored: the rule, its first occurrence and the user's zone.
    public struct Series: Sendable, Equatable {
        public var rule: RecurrenceRule
        /// The first occurrence (`deliver_at_local`): its date starts the rule's periods,
        /// its time of day is every occurrence's.
        public var start: LocalDateTime
        public var timeZone: String
        public var quietHours: QuietHours?
        /// No occurrence due at or after it is scheduled: it ends the series.
        public var expiresAt: Instant?

        public init(
            rule: RecurrenceRule, start: LocalDateTime, timeZone: String, quietHours: QuietHours? = nil,
            expiresAt: Instant? = nil
        ) {
            self.rule = rule
            self.start = start
            self.timeZone = timeZone
            self.quietHours = quietHours
            self.expiresAt = expiresAt
        }
    }

    /// One occurrence of a series.
    public struct Occurrence: Sendable, Hashable {
        /// Counts every occurrence of the reminder from 1, across replacements of its rule:
        /// the provider's idempotency key derives from it, so it never repeats.
        public var number: Int
        /// Its position in the current rule, from 1 (what COUNT and the cap count).
        public var index: Int
        /// Its date and time on the user's wall clock.
        public var local: LocalDateTime

        public init(number: Int, index: Int, local: LocalDateTime) {
            self.number = number
            self.index = index
            self.local = local
        }
    }

    /// An occurrence to schedule.
    public struct Scheduled: Sendable, Equatable {
        public var occurrence: Occurrence
        /// When the dispatcher may send it: its wall-clock time read in the zone (a time in
        /// a spring-forward gap moves forward by the gap, one in an autumn overlap takes
        /// the earlier instant), moved out of quiet hours.
        public var dueAt: Instant
        /// Occurrences passed over because they were already due when the one before was
        /// done (the service was down, or an attempt was retried for longer than the
        /// rule's period): they are not sent late, one after another. Also one due at the
        /// same instant as the one before (a day the zone skipped).
        public var skipped: Int

        public init(occurrence: Occurrence, dueAt: Instant, skipped: Int = 0) {
            self.occurrence = occurrence
            self.dueAt = dueAt
            self.skipped = skipped
        }
    }

    /// The series' first occurrence, numbered `number`: its start, due even when that has
    /// passed (like a one-off reminder). With `after` (a replaced rule, whose reminder has
    /// had occurrences up to that instant), the rule's first occurrence whose wall-clock
    /// instant is later, so that no period gets a second reminder. Nil when there is none
    /// (or the zone is unknown).
    public static func first(of series: Series, number: Int, after: Instant? = nil) -> Scheduled? {
        guard let zone = TimeZones.zone(named: series.timeZone) else { return nil }
        var occurrence = Occurrence(number: number, index: 1, local: series.start)
        while true {
            let wall = DeliveryTimeCalculator.instant(of: occurrence.local, in: zone)
            if case .until(let until) = series.rule.end, wall > until { return nil }
            if after.map({ wall > $0 }) ?? true {
                let due = dueInstant(wall, series, zone)
                if let expiresAt = series.expiresAt, due >= expiresAt { return nil }
                return Scheduled(occurrence: occurrence, dueAt: due)
            }
            guard let next = following(occurrence, in: series) else { return nil }
            // The number stays: occurrences of the new rule before `after` are not the
            // reminder's, they were never scheduled.
            occurrence = Occurrence(number: number, index: next.index, local: next.local)
        }
    }

    /// The occurrence after `current` (done: delivered or dead-lettered) that is still
    /// ahead at `now`, or nil when the series has ended: COUNT or the cap reached, UNTIL
    /// passed, or due at or after `expires_at`. An occurrence due no later than `current`
    /// is passed over too: a day the zone skipped (Samoa's 30 December 2011) moves forward
    /// by the whole day onto the next day's instant, which must not bring a second reminder
    /// at the same moment.
    public static func next(after current: Occurrence, of series: Series, now: Instant) -> Scheduled? {
        guard let zone = TimeZones.zone(named: series.timeZone) else { return nil }
        let currentDue = dueInstant(DeliveryTimeCalculator.instant(of: current.local, in: zone), series, zone)
        var occurrence = current
        var skipped = 0
        while let next = following(occurrence, in: series) {
            let wall = DeliveryTimeCalculator.instant(of: next.local, in: zone)
            if case .until(let until) = series.rule.end, wall > until { return nil }
            let due = dueInstant(wall, series, zone)
            if let expiresAt = series.expiresAt, due >= expiresAt { return nil }
            if due >= now, due > currentDue { return Scheduled(occurrence: next, dueAt: due, skipped: skipped) }
            skipped += 1
            occurrence = next
        }
        return nil
    }

    /// The instant the wall clock of the zone named `zone` shows `local` (the DST policy,
    /// without quiet hours): what UNTIL and a replaced rule's start compare with.
    public static func wallInstant(_ local: LocalDateTime, inZone zone: String) -> Instant? {
        TimeZones.zone(named: zone).map { DeliveryTimeCalculator.instant(of: local, in: $0) }
    }

    /// The instant `local` is due in the series' zone (the one-off rules).
    public static func dueAt(_ local: LocalDateTime, of series: Series) -> Instant? {
        guard let zone = TimeZones.zone(named: series.timeZone) else { return nil }
        return dueInstant(DeliveryTimeCalculator.instant(of: local, in: zone), series, zone)
    }

    /// Whether `start` is an occurrence of the rule's own pattern (its weekday among BYDAY,
    /// its day among BYMONTHDAY): RFC 5545 leaves a rule whose DTSTART is not undefined,
    /// so the contract refuses one.
    public static func isSynchronized(_ rule: RecurrenceRule, start: CivilDate) -> Bool {
        switch rule.frequency {
        case .daily: return true
        case .weekly: return rule.weekdays.isEmpty || rule.weekdays.contains(Weekday(of: start))
        case .monthly:
            return rule.monthDays.isEmpty || days(of: rule, year: start.year, month: start.month).contains(start.day)
        }
    }

    private static func dueInstant(_ wall: Instant, _ series: Series, _ zone: TimeZone) -> Instant {
        guard let quietHours = series.quietHours else { return wall }
        return DeliveryTimeCalculator.deferred(wall, outOf: quietHours, in: zone)
    }

    /// The rule's occurrence after `occurrence` on the wall clock, ignoring UNTIL and
    /// expiry; nil past COUNT, the cap or the calendar's end.
    static func following(_ occurrence: Occurrence, in series: Series) -> Occurrence? {
        guard occurrence.index < series.rule.occurrenceLimit,
            let date = nextDate(after: occurrence.local.date, rule: series.rule, start: series.start.date)
        else { return nil }
        return Occurrence(
            number: occurrence.number + 1, index: occurrence.index + 1,
            local: LocalDateTime(date: date, time: series.start.time, second: series.start.second))
    }

    /// The first date after `date` that the rule names, counting periods from `start`.
    static func nextDate(after date: CivilDate, rule: RecurrenceRule, start: CivilDate) -> CivilDate? {
        let interval = max(1, rule.interval)
        switch rule.frequency {
        case .daily:
            let next = date.adding(days: interval)
            return next.year <= 9999 ? next : nil
        case .weekly:
            let weekdays = rule.weekdays.isEmpty ? [Weekday(of: start)] : rule.weekdays
            let firstMonday = start.adding(days: 1 - Weekday(of: start).isoNumber)
            // Within the week of `date`, then the next week of the rule's, and so on: two
            // rule weeks always hold a day of `weekdays`.
            var candidate = date.adding(days: 1)
            let limit = date.adding(days: 7 * interval + 7)
            while candidate <= limit {
                let weeks = (candidate.daysSinceEpoch - firstMonday.daysSinceEpoch).floorDivided(by: 7)
                if weeks % Int64(interval) == 0, weekdays.contains(Weekday(of: candidate)) {
                    return candidate.year <= 9999 ? candidate : nil
                }
                candidate = candidate.adding(days: 1)
            }
            return nil
        case .monthly:
            // Months of the rule from the one of `date` on; a month without any of the days
            // (the 31st in April) is passed over. Bounded: a day that exists in the start's
            // month comes round within a few years.
            var monthIndex = (date.year * 12 + date.month - 1) - (start.year * 12 + start.month - 1)
            monthIndex -= monthIndex % interval
            for _ in 0..<(12 * 8 + 1) {
                let total = start.year * 12 + start.month - 1 + monthIndex
                let year = total / 12
                let month = total % 12 + 1
                guard year <= 9999 else { return nil }
                let wanted = rule.monthDays.isEmpty ? [start.day] : rule.monthDays
                for day in days(of: RecurrenceRule(frequency: .monthly, monthDays: wanted), year: year, month: month) {
                    if let candidate = CivilDate(year: year, month: month, day: day), candidate > date {
                        return candidate
                    }
                }
                monthIndex += interval
            }
            return nil
        }
    }

    /// The days of `year`-`month` that the rule's BYMONTHDAY names, ascending, each once.
    static func days(of rule: RecurrenceRule, year: Int, month: Int) -> [Int] {
        let length = CivilDate.daysIn(month: month, year: year)
        let resolved = rule.monthDays.compactMap { day -> Int? in
            let resolved = day > 0 ? day : length + 1 + day
            return (1...length).contains(resolved) ? resolved : nil
        }
        return Array(Set(resolved)).sorted()
    }
}
