import Foundation
import ReminderCore
import Testing

/// Occurrences of recurring reminders on real zones of the system's tz database: where
/// they fall on the wall clock, the instant each is due, and where a series ends.
@Suite struct RecurrenceCalculatorTests {
    typealias Series = RecurrenceCalculator.Series

    static func local(_ text: String) -> LocalDateTime { LocalDateTime(parsing: text)! }
    static func instant(_ text: String) -> Instant { RFC3339.parse(text)! }
    static let longAgo = Instant(secondsSinceEpoch: 0)

    static func series(
        _ rule: RecurrenceRule, _ start: String, _ zone: String = "Europe/Berlin", quiet: (String, String)? = nil,
        expiresAt: String? = nil
    ) -> Series {
        Series(
            rule: rule, start: local(start), timeZone: zone,
            quietHours: quiet.map { QuietHours(start: LocalTime(parsing: $0.0)!, end: LocalTime(parsing: $0.1)!) },
            expiresAt: expiresAt.map(instant))
    }

    /// The series from its first occurrence, each next one asked for as soon as the one
    /// before is done (nothing passed over), at most `limit` of them.
    static func walk(_ series: Series, limit: Int = 1_100) -> [RecurrenceCalculator.Scheduled] {
        guard var current = RecurrenceCalculator.first(of: series, number: 1) else { return [] }
        var all = [current]
        while all.count < limit,
            let next = RecurrenceCalculator.next(after: current.occurrence, of: series, now: longAgo)
        {
            all.append(next)
            current = next
        }
        return all
    }

    static func dates(_ scheduled: [RecurrenceCalculator.Scheduled]) -> [String] {
        scheduled.map { $0.occurrence.local.date.description }
    }

    // MARK: Daily, across DST

    @Test func dailyAtNineInBerlinIsAtNineAllYearAcrossBothChanges() {
        let all = Self.walk(Self.series(RecurrenceRule(frequency: .daily, end: .count(365)), "2027-01-01T09:00"))
        #expect(all.count == 365)
        var day = CivilDate(year: 2027, month: 1, day: 1)!
        let summer = CivilDate(year: 2027, month: 3, day: 28)!...CivilDate(year: 2027, month: 10, day: 30)!
        for (index, scheduled) in all.enumerated() {
            #expect(scheduled.occurrence.local == LocalDateTime(date: day, time: LocalTime(hour: 9, minute: 0)!))
            #expect(scheduled.occurrence.number == index + 1 && scheduled.occurrence.index == index + 1)
            #expect(scheduled.skipped == 0)
            // 09:00 CEST is 07:00 UTC, 09:00 CET is 08:00 UTC.
            let hour = summer.contains(day) ? "07" : "08"
            #expect(scheduled.dueAt.description == "\(day)T\(hour):00:00Z", "\(day)")
            day = day.adding(days: 1)
        }
        #expect(Self.dates(all).last == "2027-12-31")
        // The change days and the days either side, spelt out.
        let byDate = Dictionary(uniqueKeysWithValues: all.map { ($0.occurrence.local.date.description, $0.dueAt) })
        #expect(byDate["2027-03-27"] == Self.instant("2027-03-27T08:00:00Z"))
        #expect(byDate["2027-03-28"] == Self.instant("2027-03-28T07:00:00Z"))
        #expect(byDate["2027-10-30"] == Self.instant("2027-10-30T07:00:00Z"))
        #expect(byDate["2027-10-31"] == Self.instant("2027-10-31T08:00:00Z"))
        #expect(
            RecurrenceCalculator.next(
                after: all[364].occurrence,
                of: Self.series(
                    RecurrenceRule(frequency: .daily, end: .count(365)), "2027-01-01T09:00"), now: Self.longAgo) == nil)
    }

    @Test func dailyAtTwoThirtyMovesForwardByTheSpringGapOnlyOnTheChangeDay() {
        let all = Self.walk(
            Self.series(RecurrenceRule(frequency: .daily, end: .count(4)), "2027-03-26T02:30"))
        #expect(Self.dates(all) == ["2027-03-26", "2027-03-27", "2027-03-28", "2027-03-29"])
        // 02:30 CET, 02:30 CET, 03:30 CEST (02:30 does not exist), 02:30 CEST.
        #expect(
            all.map(\.dueAt.description) == [
                "2027-03-26T01:30:00Z", "2027-03-27T01:30:00Z", "2027-03-28T01:30:00Z", "2027-03-29T00:30:00Z",
            ])
        // The occurrence itself stays at 02:30: the next day's is not shifted.
        #expect(all.allSatisfy { $0.occurrence.local.time == LocalTime(hour: 2, minute: 30)! })
    }

    @Test func dailyAtTwoThirtyTakesTheEarlierInstantOfTheAutumnOverlap() {
        let all = Self.walk(
            Self.series(RecurrenceRule(frequency: .daily, end: .count(3)), "2027-10-30T02:30"))
        // 02:30 CEST, 02:30 CEST (the first of the two, before 03:00 CEST turns back to 02:00 CET), 02:30 CET.
        #expect(
            all.map(\.dueAt.description) == [
                "2027-10-30T00:30:00Z", "2027-10-31T00:30:00Z", "2027-11-01T01:30:00Z",
            ])
    }

    /// Samoa skipped 30 December 2011: that day's occurrence moves forward by the whole
    /// day onto the 31st's instant, and the 31st's is passed over rather than sent at the
    /// same moment a second time.
    @Test func aDayTheZoneSkippedDoesNotGiveTwoRemindersAtOnce() {
        let series = Self.series(RecurrenceRule(frequency: .daily, end: .count(6)), "2011-12-28T12:00", "Pacific/Apia")
        let all = Self.walk(series)
        #expect(Self.dates(all) == ["2011-12-28", "2011-12-29", "2011-12-30", "2012-01-01", "2012-01-02"])
        #expect(
            all.map(\.dueAt.description) == [
                "2011-12-28T22:00:00Z", "2011-12-29T22:00:00Z", "2011-12-30T22:00:00Z", "2011-12-31T22:00:00Z",
                "2012-01-01T22:00:00Z",
            ])
        #expect(all.map(\.skipped) == [0, 0, 0, 1, 0])
        #expect(all.map(\.occurrence.number) == [1, 2, 3, 5, 6])
    }

    // MARK: Weekly

    /// 2027 has 52 Mondays; 2029, which begins and ends on one, has 53.
    @Test(arguments: [("2027-01-04", "2027-12-27", 52), ("2029-01-01", "2029-12-31", 53)])
    func weeklyOnMondaysForAYear(first: String, last: String, count: Int) {
        let year = first.prefix(4)
        let rule = RecurrenceRule(
            frequency: .weekly, weekdays: [.monday], end: .until(Self.instant("\(year)-12-31T23:59:59+01:00")))
        let all = Self.walk(Self.series(rule, "\(first)T09:00"))
        #expect(all.count == count)
        #expect(Self.dates(all).first == first && Self.dates(all).last == last)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Berlin")!
        for (previous, scheduled) in zip(all, all.dropFirst()) {
            #expect(scheduled.occurrence.local.date.daysSinceEpoch - previous.occurrence.local.date.daysSinceEpoch == 7)
            // Foundation's calendar, not the calculator's arithmetic, says it is a Monday at 09:00.
            let date = Date(timeIntervalSince1970: Double(scheduled.dueAt.microsecondsSinceEpoch) / 1e6)
            let components = calendar.dateComponents([.weekday, .hour, .minute], from: date)
            #expect(components.weekday == 2 && components.hour == 9 && components.minute == 0)
        }
    }

    @Test func everyOtherWeekOnMondayWednesdayAndFriday() {
        let rule = RecurrenceRule(frequency: .weekly, interval: 2, weekdays: [.monday, .wednesday, .friday])
        #expect(
            Self.dates(Self.walk(Self.series(rule, "2027-01-04T18:00"), limit: 9)) == [
                "2027-01-04", "2027-01-06", "2027-01-08", "2027-01-18", "2027-01-20", "2027-01-22", "2027-02-01",
                "2027-02-03", "2027-02-05",
            ])
        // Started on a Wednesday: the Monday before it is not an occurrence, and the weeks
        // still count from the start's week (which begins on Monday 4 January).
        #expect(
            Self.dates(Self.walk(Self.series(rule, "2027-01-06T18:00"), limit: 5)) == [
                "2027-01-06", "2027-01-08", "2027-01-18", "2027-01-20", "2027-01-22",
            ])
        // Without BYDAY: the start's weekday.
        #expect(
            Self.dates(
                Self.walk(
                    Self.series(RecurrenceRule(frequency: .weekly, interval: 3), "2027-01-07T18:00"),
                    limit: 3)) == ["2027-01-07", "2027-01-28", "2027-02-18"])
    }

    // MARK: Monthly

    @Test func monthlyOnTheThirtyFirstSkipsMonthsWithoutOne() {
        let all = Self.walk(
            Self.series(RecurrenceRule(frequency: .monthly, monthDays: [31]), "2027-01-31T09:00"), limit: 9)
        #expect(
            Self.dates(all) == [
                "2027-01-31", "2027-03-31", "2027-05-31", "2027-07-31", "2027-08-31", "2027-10-31", "2027-12-31",
                "2028-01-31", "2028-03-31",
            ])
        #expect(all.map(\.occurrence.index) == Array(1...9))
        // The same without BYMONTHDAY: the start's day.
        #expect(
            Self.dates(Self.walk(Self.series(RecurrenceRule(frequency: .monthly), "2027-01-31T09:00"), limit: 9))
                == Self.dates(all))
    }

    @Test func monthlyOnTheLastDayFollowsTheMonthsLength() {
        let all = Self.walk(
            Self.series(RecurrenceRule(frequency: .monthly, monthDays: [-1]), "2027-11-30T09:00"), limit: 6)
        #expect(
            Self.dates(all) == ["2027-11-30", "2027-12-31", "2028-01-31", "2028-02-29", "2028-03-31", "2028-04-30"])
        let common = Self.walk(
            Self.series(RecurrenceRule(frequency: .monthly, monthDays: [-1]), "2027-01-31T09:00"), limit: 3)
        #expect(Self.dates(common) == ["2027-01-31", "2027-02-28", "2027-03-31"])
    }

    @Test func theThirtyFirstAndTheLastDayAreOneOccurrenceInALongMonth() {
        let rule = RecurrenceRule(
            frequency: .monthly, monthDays: [31, -1], end: .until(Self.instant("2027-12-31T23:00:00Z")))
        let all = Self.walk(Self.series(rule, "2027-01-31T09:00"))
        #expect(all.count == 12)
        #expect(Self.dates(all).prefix(4) == ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"])
    }

    @Test func monthlyOnTwoDaysEveryThirdMonth() {
        let rule = RecurrenceRule(frequency: .monthly, interval: 3, monthDays: [15, 1])
        #expect(
            Self.dates(Self.walk(Self.series(rule, "2027-01-15T09:00"), limit: 5)) == [
                "2027-01-15", "2027-04-01", "2027-04-15", "2027-07-01", "2027-07-15",
            ])
    }

    /// The largest interval, monthly: every 1,000 months (83 years and 4 months) until
    /// the calendar's last year, 9999, where the series ends.
    @Test func theLargestIntervalRunsToTheEndOfTheCalendar() {
        let all = Self.walk(
            Self.series(RecurrenceRule(frequency: .monthly, interval: 1_000), "2027-01-15T09:00"), limit: 200)
        // Months since year 0 of the first occurrence, and of December 9999.
        let first = 2027 * 12
        let last = 9999 * 12 + 11
        #expect(all.count == (last - first) / 1_000 + 1)
        #expect(Self.dates(all).prefix(3) == ["2027-01-15", "2110-05-15", "2193-09-15"])
        #expect(all.allSatisfy { $0.occurrence.local.date.year <= 9999 })
        let weekly = Self.walk(
            Self.series(
                RecurrenceRule(frequency: .weekly, interval: 1_000, weekdays: [.monday, .sunday]),
                "2027-01-04T09:00"), limit: 3)
        // Monday 4 January, its week's Sunday, then the Monday 7,000 days after the first.
        #expect(Self.dates(weekly) == ["2027-01-04", "2027-01-10", "2046-03-05"])
    }

    // MARK: Where a series ends

    @Test func countIncludesTheFirstOccurrence() {
        let all = Self.walk(Self.series(RecurrenceRule(frequency: .daily, end: .count(3)), "2027-01-04T09:00"))
        #expect(Self.dates(all) == ["2027-01-04", "2027-01-05", "2027-01-06"])
        let once = Self.walk(Self.series(RecurrenceRule(frequency: .weekly, end: .count(1)), "2027-01-04T09:00"))
        #expect(once.count == 1)
    }

    @Test func untilIsInclusiveOfAnOccurrenceAtThatInstant() {
        // 09:00 in Berlin in January is 08:00 UTC.
        let inclusive = RecurrenceRule(frequency: .daily, end: .until(Self.instant("2027-01-06T08:00:00Z")))
        #expect(
            Self.dates(Self.walk(Self.series(inclusive, "2027-01-04T09:00"))) == [
                "2027-01-04", "2027-01-05", "2027-01-06",
            ])
        let justBefore = RecurrenceRule(frequency: .daily, end: .until(Self.instant("2027-01-06T07:59:59Z")))
        #expect(Self.dates(Self.walk(Self.series(justBefore, "2027-01-04T09:00"))) == ["2027-01-04", "2027-01-05"])
        // Compared with the wall-clock instant, not with the time quiet hours move it to.
        let quiet = Self.series(inclusive, "2027-01-04T09:00", quiet: ("08:00", "10:00"))
        #expect(
            Self.walk(quiet).map(\.dueAt.description) == [
                "2027-01-04T09:00:00Z", "2027-01-05T09:00:00Z", "2027-01-06T09:00:00Z",
            ])
    }

    @Test func aSeriesWithoutCountEndsAtTheCap() {
        let all = Self.walk(Self.series(RecurrenceRule(frequency: .daily), "2027-01-04T09:00"), limit: 5_000)
        #expect(all.count == RecurrenceRule.maximumOccurrences)
        #expect(all.last?.occurrence.index == 1_000)
        #expect(all.last?.occurrence.local.date == CivilDate(year: 2027, month: 1, day: 4)!.adding(days: 999))
        #expect(RecurrenceRule(frequency: .daily, end: .count(5_000)).occurrenceLimit == 1_000)
    }

    @Test func expiresAtEndsTheSeries() {
        let rule = RecurrenceRule(frequency: .daily)
        let atThird = Self.series(rule, "2027-01-04T09:00", expiresAt: "2027-01-06T08:00:00Z")
        #expect(Self.dates(Self.walk(atThird)) == ["2027-01-04", "2027-01-05"])
        let afterThird = Self.series(rule, "2027-01-04T09:00", expiresAt: "2027-01-06T08:00:01Z")
        #expect(Self.dates(Self.walk(afterThird)) == ["2027-01-04", "2027-01-05", "2027-01-06"])
        let beforeFirst = Self.series(rule, "2027-01-04T09:00", expiresAt: "2027-01-04T08:00:00Z")
        #expect(RecurrenceCalculator.first(of: beforeFirst, number: 1) == nil)
        // Quiet hours move the third past expires_at: it is not sent.
        let deferred = Self.series(
            rule, "2027-01-04T09:00", quiet: ("08:30", "12:00"), expiresAt: "2027-01-06T10:00:00Z")
        #expect(Self.dates(Self.walk(deferred)) == ["2027-01-04", "2027-01-05"])
    }

    // MARK: Late and replaced

    @Test func nextPassesOverOccurrencesAlreadyDueAndCountsThem() throws {
        let series = Self.series(RecurrenceRule(frequency: .daily, end: .count(10)), "2027-01-04T09:00")
        let first = try #require(RecurrenceCalculator.first(of: series, number: 1))
        // Done when the 7 January occurrence is exactly due: that one is still sent.
        let onTime = try #require(
            RecurrenceCalculator.next(after: first.occurrence, of: series, now: Self.instant("2027-01-07T08:00:00Z")))
        #expect(onTime.occurrence.local.date.description == "2027-01-07")
        #expect(onTime.skipped == 2)
        #expect(onTime.occurrence.number == 4 && onTime.occurrence.index == 4)
        // A microsecond later it is passed over too.
        let late = try #require(
            RecurrenceCalculator.next(
                after: first.occurrence, of: series, now: Self.instant("2027-01-07T08:00:00.000001Z")))
        #expect(late.occurrence.local.date.description == "2027-01-08" && late.skipped == 3)
        // Past the last one: the series has ended.
        #expect(
            RecurrenceCalculator.next(after: first.occurrence, of: series, now: Self.instant("2027-01-13T08:00:01Z"))
                == nil)
    }

    @Test(arguments: 0..<48)
    func nextNeverReturnsAnOccurrenceDueBeforeNow(hours: Int) throws {
        let series = Self.series(
            RecurrenceRule(frequency: .weekly, weekdays: [.monday, .thursday]), "2027-03-01T02:30",
            quiet: ("01:00", "02:45"))
        let first = try #require(RecurrenceCalculator.first(of: series, number: 1))
        let now = Self.instant("2027-03-20T00:00:00Z").advanced(by: .seconds(hours * 7 * 3600 + 17))
        let next = try #require(RecurrenceCalculator.next(after: first.occurrence, of: series, now: now))
        #expect(next.dueAt >= now)
        // The one before it (if not the first) was due before now: nothing is passed over needlessly.
        let all = Self.walk(series, limit: next.occurrence.index)
        #expect(all.last?.occurrence == next.occurrence && all.last?.dueAt == next.dueAt)
        if next.occurrence.index > 2 { #expect(all[all.count - 2].dueAt < now) }
        #expect(next.skipped == next.occurrence.index - 2)
    }

    @Test func aReplacedRuleStartsStrictlyAfterTheLastOccurrenceAndKeepsTheNumber() throws {
        let series = Self.series(RecurrenceRule(frequency: .daily, end: .count(5)), "2027-01-04T09:00")
        let after = try #require(
            RecurrenceCalculator.first(of: series, number: 17, after: Self.instant("2027-01-06T08:00:00Z")))
        #expect(after.occurrence.local.date.description == "2027-01-07")
        #expect(after.occurrence.number == 17 && after.occurrence.index == 4)
        let justBefore = try #require(
            RecurrenceCalculator.first(of: series, number: 17, after: Self.instant("2027-01-06T07:59:59Z")))
        #expect(justBefore.occurrence.local.date.description == "2027-01-06")
        // Nothing of the new rule is left after that instant.
        #expect(RecurrenceCalculator.first(of: series, number: 17, after: Self.instant("2027-01-08T08:00:00Z")) == nil)
        // The next occurrence numbers on from the kept number.
        let next = try #require(RecurrenceCalculator.next(after: after.occurrence, of: series, now: Self.longAgo))
        #expect(next.occurrence.number == 18 && next.occurrence.index == 5)
    }

    @Test func theFirstOccurrenceIsDueEvenWhenItHasPassed() throws {
        let series = Self.series(RecurrenceRule(frequency: .daily), "2020-01-01T09:00")
        let first = try #require(RecurrenceCalculator.first(of: series, number: 1))
        #expect(first.dueAt == Self.instant("2020-01-01T08:00:00Z") && first.skipped == 0)
    }

    // MARK: Quiet hours

    @Test func anOccurrenceInsideQuietHoursIsDueAtTheirEnd() {
        let series = Self.series(
            RecurrenceRule(frequency: .daily, end: .count(3)), "2027-03-26T23:00", quiet: ("22:00", "07:00"))
        // 07:00 CET the next morning, then 07:00 CEST after the spring change.
        #expect(
            Self.walk(series).map(\.dueAt.description) == [
                "2027-03-27T06:00:00Z", "2027-03-28T05:00:00Z", "2027-03-29T05:00:00Z",
            ])
        let outside = Self.series(
            RecurrenceRule(frequency: .daily, end: .count(1)), "2027-03-26T21:00", quiet: ("22:00", "07:00"))
        #expect(Self.walk(outside).map(\.dueAt.description) == ["2027-03-26T20:00:00Z"])
        #expect(
            RecurrenceCalculator.dueAt(Self.local("2027-03-26T23:00"), of: series)
                == Self.instant("2027-03-27T06:00:00Z"))
    }

    @Test func anUnknownZoneHasNoOccurrences() {
        let series = Self.series(RecurrenceRule(frequency: .daily), "2027-01-04T09:00", "Mars/Olympus_Mons")
        #expect(RecurrenceCalculator.first(of: series, number: 1) == nil)
        #expect(RecurrenceCalculator.dueAt(Self.local("2027-01-04T09:00"), of: series) == nil)
    }
}
