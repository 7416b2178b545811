import Foundation
import ReminderCore
import Testing

/// Generated rules on zones with every kind of transition, walked with `next()` and
/// compared with a day-by-day enumeration written here independently of the calculator:
/// Foundation's Gregorian calendar decides weekdays, month lengths and day counts, and the
/// rule's definition is applied to each day on its own.
@Suite struct RecurrenceCalculatorPropertyTests {
    static let zones = [
        "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Apia", "UTC",
    ]
    /// Times on or near the transitions of those zones (gaps and overlaps at 01:00–03:00),
    /// and ordinary ones.
    static let times = [(0, 0), (1, 30), (1, 45), (2, 0), (2, 15), (2, 30), (3, 0), (9, 0), (12, 45), (23, 59)]
    static let monthDaySets: [[Int]] = [
        [31], [-1], [31, -1], [1, 15], [29], [30, -30], [5, -5, 20], [28, 29, 30, 31],
    ]
    static let weekdayCodes = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
    /// Occurrences compared per rule (COUNT and UNTIL end some earlier).
    static let compared = 60

    /// SplitMix64: a fixed, portable sequence for a seed.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    struct Case: Sendable, CustomStringConvertible {
        var series: RecurrenceCalculator.Series
        var description: String {
            "\(series.rule) from \(series.start) in \(series.timeZone)"
        }
    }

    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// A synchronized rule and start: the start's weekday or day is added to a generated
    /// BYDAY or BYMONTHDAY that lacks it, as the decoder requires.
    static func generate(seed: UInt64) -> Case {
        var random = Generator(state: seed)
        let zone = zones.randomElement(using: &random)!
        let day = Int.random(in: 0..<(4 * 366), using: &random)
        let startDate = utc.date(
            byAdding: .day, value: day, to: utc.date(from: DateComponents(year: 2026, month: 1, day: 1))!)!
        let parts = utc.dateComponents([.year, .month, .day, .weekday], from: startDate)
        let (hour, minute) = times.randomElement(using: &random)!
        let start = LocalDateTime(
            date: CivilDate(year: parts.year!, month: parts.month!, day: parts.day!)!,
            time: LocalTime(hour: hour, minute: minute)!, second: Bool.random(using: &random) ? 0 : 30)
        let frequency = RecurrenceRule.Frequency.allCases.randomElement(using: &random)!
        var rule = RecurrenceRule(frequency: frequency, interval: Int.random(in: 1...5, using: &random))
        switch frequency {
        case .daily: break
        case .weekly:
            if Int.random(in: 0..<4, using: &random) > 0 {
                var codes = Set(weekdayCodes.filter { _ in Bool.random(using: &random) })
                // Foundation's weekday: Sunday 1 … Saturday 7.
                codes.insert(weekdayCodes[(parts.weekday! + 5) % 7])
                rule.weekdays = codes.map { Weekday(rawValue: $0)! }.sorted()
            }
        case .monthly:
            if Int.random(in: 0..<4, using: &random) > 0 {
                var days = monthDaySets.randomElement(using: &random)!
                let length = utc.range(of: .day, in: .month, for: startDate)!.count
                if !days.contains(where: { $0 == parts.day! || length + 1 + $0 == parts.day! }) {
                    days.append(Bool.random(using: &random) ? parts.day! : parts.day! - length - 1)
                }
                rule.monthDays = days.sorted()
            }
        }
        switch Int.random(in: 0..<3, using: &random) {
        case 0: rule.end = .count(Int.random(in: 1...compared, using: &random))
        case 1:
            // An instant anywhere in the next years, to the second.
            let first = Int64(startDate.timeIntervalSince1970)
            rule.end = .until(
                Instant(secondsSinceEpoch: first + Int64.random(in: 0...(3 * 366 * 86_400), using: &random)))
        default: break
        }
        return Case(series: .init(rule: rule, start: start, timeZone: zone))
    }

    static let cases = (0..<320).map { generate(seed: UInt64($0) &* 7_919 &+ 11) }

    // MARK: The enumeration

    /// Whether the rule's pattern (ignoring COUNT, UNTIL and the cap) includes `day`, a
    /// midnight in UTC on or after the start's.
    static func includes(_ day: Date, rule: RecurrenceRule, start: Date) -> Bool {
        let calendar = utc
        let days = calendar.dateComponents([.day], from: start, to: day).day!
        let this = calendar.dateComponents([.year, .month, .day, .weekday], from: day)
        let first = calendar.dateComponents([.year, .month, .day, .weekday], from: start)
        switch rule.frequency {
        case .daily:
            return days % rule.interval == 0
        case .weekly:
            // Weeks begin on Monday (RFC 5545's default WKST); Monday is 0 here.
            let startOffset = (first.weekday! + 5) % 7
            let weekday = (this.weekday! + 5) % 7
            let week = (days + startOffset) / 7
            let wanted =
                rule.weekdays.isEmpty ? [startOffset] : rule.weekdays.map { weekdayCodes.firstIndex(of: $0.rawValue)! }
            return week % rule.interval == 0 && wanted.contains(weekday)
        case .monthly:
            let months = (this.year! * 12 + this.month!) - (first.year! * 12 + first.month!)
            let length = calendar.range(of: .day, in: .month, for: day)!.count
            let wanted = rule.monthDays.isEmpty ? [first.day!] : rule.monthDays
            return months % rule.interval == 0
                && wanted.contains { $0 > 0 ? $0 == this.day! : length + 1 + $0 == this.day! }
        }
    }

    /// The instant a wall-clock time is read as in `zone`, found by trying every offset
    /// the world uses: the earliest instant that shows it, or in a gap, the time read with
    /// the offset in force before it.
    static func wallInstant(_ local: LocalDateTime, _ zone: TimeZone) -> Int64 {
        let wall = Int64(
            utc.date(
                from: DateComponents(
                    year: local.date.year, month: local.date.month, day: local.date.day, hour: local.time.hour,
                    minute: local.time.minute, second: local.second))!.timeIntervalSince1970)
        let showing = stride(from: -14 * 3600, through: 14 * 3600, by: 900).map(Int64.init).filter {
            Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(wall - $0)))) == $0
        }
        if let largest = showing.max() { return wall - largest }
        let before = zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(wall - 2 * 86_400)))
        return wall - Int64(before)
    }

    /// The occurrences' dates by the rule's definition, at most `compared`.
    static func enumerate(_ series: RecurrenceCalculator.Series) -> [String] {
        let calendar = utc
        let zone = TimeZone(identifier: series.timeZone)!
        let start = calendar.date(
            from: DateComponents(
                year: series.start.date.year, month: series.start.date.month, day: series.start.date.day))!
        var limit = compared
        if case .count(let count) = series.rule.end { limit = min(limit, count) }
        var dates: [String] = []
        var day = start
        // Bounded: 60 occurrences of the sparsest rule (every fifth month, on the 29th to
        // 31st) come within a few thousand days.
        var remaining = 40_000
        while dates.count < limit, remaining > 0 {
            remaining -= 1
            if includes(day, rule: series.rule, start: start) {
                let parts = calendar.dateComponents([.year, .month, .day], from: day)
                let local = LocalDateTime(
                    date: CivilDate(year: parts.year!, month: parts.month!, day: parts.day!)!, time: series.start.time,
                    second: series.start.second)
                if case .until(let until) = series.rule.end,
                    wallInstant(local, zone) * 1_000_000 > until.microsecondsSinceEpoch
                {
                    break
                }
                dates.append(local.date.description)
            }
            day = calendar.date(byAdding: .day, value: 1, to: day)!
        }
        return dates
    }

    // MARK: The checks

    @Test func theGeneratedRulesCoverEveryFrequencyZoneAndEnd() {
        let rules = Self.cases.map(\.series.rule)
        #expect(Set(rules.map(\.frequency)) == Set(RecurrenceRule.Frequency.allCases))
        #expect(Set(Self.cases.map(\.series.timeZone)) == Set(Self.zones))
        #expect(Set(rules.map(\.interval)) == Set(1...5))
        #expect(rules.contains { if case .count = $0.end { true } else { false } })
        #expect(rules.contains { if case .until = $0.end { true } else { false } })
        #expect(rules.contains { $0.end == .never })
        #expect(rules.contains { $0.weekdays.count > 1 } && rules.contains { $0.monthDays.count > 1 })
    }

    @Test(arguments: cases)
    func walkingNextAgreesWithTheDayByDayEnumeration(testCase: Case) throws {
        let series = testCase.series
        let zone = try #require(TimeZone(identifier: series.timeZone))
        let walked = RecurrenceCalculatorTests.walk(series, limit: Self.compared)
        #expect(walked.map(\.occurrence.local.date.description) == Self.enumerate(series))

        for (position, scheduled) in walked.enumerated() {
            let occurrence = scheduled.occurrence
            #expect(occurrence.number == position + 1 && occurrence.index == position + 1)
            #expect(scheduled.skipped == 0)
            #expect(occurrence.local.time == series.start.time && occurrence.local.second == series.start.second)
            #expect(RecurrenceCalculator.isSynchronized(series.rule, start: occurrence.local.date))
            // The due instant shows the occurrence's time on the zone's clock, and no earlier
            // instant does; or the time is in a gap and the instant is as far past the gap's
            // end as the time was past its start.
            let due = scheduled.dueAt.microsecondsSinceEpoch / 1_000_000
            #expect(due == Self.wallInstant(occurrence.local, zone), "\(occurrence.local)")
            let shown = Self.shown(due, zone)
            if shown == occurrence.local {
                for earlier in [1_800, 3_600] as [Int64] {
                    #expect(Self.shown(due - earlier, zone) != occurrence.local)
                }
            } else {
                let gap = Self.offset(due, zone) - Self.offset(due - 86_400, zone)
                #expect(gap > 0 && shown.wallSeconds - occurrence.local.wallSeconds == gap, "\(occurrence.local)")
            }
        }
        for (previous, scheduled) in zip(walked, walked.dropFirst()) {
            #expect(previous.occurrence.local < scheduled.occurrence.local)
            #expect(previous.dueAt < scheduled.dueAt)
        }
    }

    static func offset(_ seconds: Int64, _ zone: TimeZone) -> Int64 {
        Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(seconds))))
    }

    /// What the zone's clock shows at `seconds`.
    static func shown(_ seconds: Int64, _ zone: TimeZone) -> LocalDateTime {
        LocalDateTime(wallSeconds: seconds + offset(seconds, zone))
    }
}
