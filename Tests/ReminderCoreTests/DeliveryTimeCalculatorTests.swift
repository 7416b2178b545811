import Foundation
import ReminderCore
import Testing

/// Local times on real transitions of the system's tz database.
@Suite struct DeliveryTimeCalculatorTests {
    private func due(_ local: String, _ zone: String) throws -> String {
        let time = try #require(LocalDateTime(parsing: local))
        let timeZone = try #require(TimeZone(identifier: zone))
        return DeliveryTimeCalculator.instant(of: time, in: timeZone).description
    }

    @Test(arguments: [
        // An ordinary time.
        ("2026-01-15T09:00", "Europe/Berlin", "2026-01-15T08:00:00Z"),
        // Spring forward 02:00 → 03:00: 02:30 does not exist and moves forward by the gap, to 03:30 CEST.
        ("2026-03-29T02:30", "Europe/Berlin", "2026-03-29T01:30:00Z"),
        // Autumn back 03:00 → 02:00: 02:30 happens twice; the earlier (CEST) is taken.
        ("2026-10-25T02:30", "Europe/Berlin", "2026-10-25T00:30:00Z"),
        ("2026-03-08T02:30", "America/New_York", "2026-03-08T07:30:00Z"),
        ("2026-11-01T01:30", "America/New_York", "2026-11-01T05:30:00Z"),
        // Lord Howe moves its clocks by 30 minutes: 02:00 → 02:30.
        ("2026-10-04T02:15", "Australia/Lord_Howe", "2026-10-03T15:45:00Z"),
        ("2026-04-05T01:45", "Australia/Lord_Howe", "2026-04-04T14:45:00Z"),
        ("2026-01-01T09:00", "Asia/Kathmandu", "2026-01-01T03:15:00Z"),
        // Samoa skipped 30 December 2011 when it crossed the date line: a time on that
        // day moves forward by the whole day.
        ("2011-12-30T12:00", "Pacific/Apia", "2011-12-30T22:00:00Z"),
        ("2011-12-31T12:00", "Pacific/Apia", "2011-12-30T22:00:00Z"),
        // Brazil abolished DST in 2019: midnight of the old switch day exists now.
        ("2019-11-03T00:30", "America/Sao_Paulo", "2019-11-03T03:30:00Z"),
        ("2019-11-03T12:00", "America/Sao_Paulo", "2019-11-03T15:00:00Z"),
        ("2018-11-04T12:00", "America/Sao_Paulo", "2018-11-04T14:00:00Z"),
    ])
    func localTimesBecomeTheRightInstant(local: String, zone: String, expected: String) throws {
        #expect(try due(local, zone) == expected)
    }

    @Test func anUnknownZoneHasNoDueTime() {
        let schedule = schedule(at: .local(LocalDateTime(parsing: "2026-01-01T09:00")!), zone: "Mars/Olympus_Mons")
        #expect(DeliveryTimeCalculator.dueInstant(for: schedule) == nil)
    }

    private func schedule(at time: DeliveryTime, quiet: (String, String)? = nil, zone: String = "Europe/Berlin")
        -> ReminderSchedule
    {
        ReminderSchedule(
            timeZone: zone, deliverAt: time, channels: [.email(to: "a@b.co")],
            content: Content(title: "t", body: "b", data: nil),
            quietHours: quiet.map { QuietHours(start: LocalTime(parsing: $0.0)!, end: LocalTime(parsing: $0.1)!) },
            expiresAt: nil)
    }

    @Test(arguments: [
        // Inside quiet hours that cross midnight, before midnight: to 07:00 the next day.
        ("2026-01-15T22:30:00Z", ("22:00", "07:00"), "2026-01-16T06:00:00Z"),
        // After midnight: to 07:00 the same day.
        ("2026-01-16T03:00:00Z", ("22:00", "07:00"), "2026-01-16T06:00:00Z"),
        // Outside: unchanged.
        ("2026-01-16T12:00:00Z", ("22:00", "07:00"), "2026-01-16T12:00:00Z"),
        // Quiet hours within one day.
        ("2026-01-16T12:30:00Z", ("13:00", "15:00"), "2026-01-16T14:00:00Z"),
        // Across the spring change: 23:00 CET on 28 March to 07:00 CEST on 29 March.
        ("2026-03-28T22:00:00Z", ("22:00", "07:00"), "2026-03-29T05:00:00Z"),
        // Across the autumn change: midnight CEST on 25 October to 07:00 CET, an hour later in UTC.
        ("2026-10-24T22:00:00Z", ("22:00", "07:00"), "2026-10-25T06:00:00Z"),
        // Ending inside the gap (02:30 on the change day): moved by the gap to 03:30 CEST.
        ("2026-03-29T00:30:00Z", ("01:00", "02:30"), "2026-03-29T01:30:00Z"),
    ])
    func quietHoursDeferToTheirEndInTheUsersZone(at: String, quiet: (String, String), expected: String) {
        let requested = RFC3339.parse(at)!
        #expect(
            DeliveryTimeCalculator.dueInstant(for: schedule(at: .instant(requested), quiet: quiet))?.description
                == expected)
    }
}
