import ReminderCore
import Testing

@Suite struct TimeFormatTests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)),
        ("2026-03-29T09:30:00+02:00", Int64(1_774_769_400_000_000)),
        ("2026-03-29T07:30:00.25Z", Int64(1_774_769_400_250_000)),
        ("2026-03-29T01:45:00-05:45", Int64(1_774_769_400_000_000)),
        ("2024-02-29T23:59:59.999999999z", Int64(1_709_251_199_999_999)),
        ("1969-12-31T23:59:59Z", Int64(-1_000_000)),
    ])
    func parsesRFC3339InstantsWithAnOffset(text: String, micros: Int64) {
        #expect(RFC3339.parse(text) == Instant(microsecondsSinceEpoch: micros))
    }

    @Test(arguments: [
        "2026-03-29T09:30:00", "2026-03-29 09:30:00Z", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z",
        "2026-03-29T24:00:00Z", "2026-03-29T09:30:60Z", "2026-03-29T09:30:00+0200", "2026-03-29T09:30:00.Z",
        "2026-03-29T09:30:00+02:00 ", "26-03-29T09:30:00Z", "2026-03-29T09:30:00.1234567890Z",
    ])
    func refusesWhatIsNotRFC3339WithAnOffset(text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test func instantsPrintAsUTC() {
        #expect(Instant(microsecondsSinceEpoch: 1_774_769_400_250_000).description == "2026-03-29T07:30:00.250000Z")
        #expect(Instant(secondsSinceEpoch: -1).description == "1969-12-31T23:59:59Z")
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000000Z"),
        (Int64(1_774_769_400_250_000), "2026-03-29T07:30:00.250000Z"),
        (Int64(1_709_251_199_999_999), "2024-02-29T23:59:59.999999Z"),
        (Int64(-1), "1969-12-31T23:59:59.999999Z"),
        (Int64(-62_135_596_800_000_000), "0001-01-01T00:00:00.000000Z"),
        // The year before 1 is 1 BC, written as PostgreSQL writes it: 0001.
        (Int64(-62_135_596_800_000_001), "0001-12-31T23:59:59.999999Z"),
        (Int64(253_402_300_799_000_001), "9999-12-31T23:59:59.000001Z"),
        (Int64(253_402_300_800_000_000), "10000-01-01T00:00:00.000000Z"),
    ])
    func sixDigitTextAlwaysWritesTheMicroseconds(micros: Int64, text: String) {
        #expect(Instant(microsecondsSinceEpoch: micros).sixDigitText == text)
    }

    @Test func localDateTimesParseWithOrWithoutSeconds() throws {
        let minutes = try #require(LocalDateTime(parsing: "2026-10-25T02:30"))
        #expect(minutes.description == "2026-10-25T02:30:00")
        #expect(LocalDateTime(parsing: "2026-10-25T02:30:15")?.second == 15)
        for bad in [
            "2026-10-25T02:30+01:00", "2026-10-25 02:30", "2026-02-29T10:00", "2026-10-25T2:30", "2026-10-25T02:30:61",
        ] {
            #expect(LocalDateTime(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func civilDatesRoundTripThroughDayNumbers() {
        for days in stride(from: Int64(-800_000), through: 2_000_000, by: 997) {
            let date = CivilDate(daysSinceEpoch: days)
            #expect(date.daysSinceEpoch == days)
        }
        #expect(CivilDate(year: 2000, month: 2, day: 29) != nil)
        #expect(CivilDate(year: 1900, month: 2, day: 29) == nil)
        #expect(CivilDate(daysSinceEpoch: 0).description == "1970-01-01")
    }

    @Test func quietHourTimesAreHHMM() {
        #expect(LocalTime(parsing: "22:00")?.minuteOfDay == 1320)
        #expect(LocalTime(parsing: "24:00") == nil)
        #expect(LocalTime(parsing: "7:00") == nil)
    }
}
