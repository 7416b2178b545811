import Foundation
import ReminderCore
import TestSupport
import Testing

/// The `recurrence` member of a schedule: what the decoder makes of each accepted shape,
/// and how the store's copy of a rule reads back. Every refused shape is in
/// `EventFixtures.invalidOnes` (checked by `ReminderEventDecoderTests` and against the
/// schema); the tests here check what a field path alone does not show.
@Suite struct RecurrenceDecodingTests {
    private func schedule(_ bytes: [UInt8]) throws -> ReminderSchedule {
        guard case .schedule(let schedule) = try ReminderEventDecoder.decode(bytes).action else {
            throw EventValidationError(field: "type", message: "expected a schedule")
        }
        return schedule
    }

    private func rule(_ bytes: [UInt8]) throws -> RecurrenceRule? {
        try schedule(bytes).recurrence
    }

    private func refusal(_ bytes: [UInt8]) -> EventValidationError? {
        #expect(throws: EventValidationError.self) { try ReminderEventDecoder.decode(bytes) }
    }

    @Test func anEventWithoutRecurrenceIsAOneOff() throws {
        #expect(try rule(EventFixtures.json(EventFixtures.fullEvent())) == nil)
        #expect(try rule(EventFixtures.changed { $0["recurrence"] = NSNull() }) == nil)
    }

    @Test func aDailyRuleTakesTheDefaults() throws {
        let schedule = try schedule(EventFixtures.recurring(["freq": "daily"]))
        #expect(schedule.recurrence == RecurrenceRule(frequency: .daily))
        #expect(schedule.deliverAt == .local(LocalDateTime(parsing: "2027-01-04T09:00")!))
        #expect(schedule.timeZone == "Europe/Berlin")
    }

    @Test func everyMemberIsKept() throws {
        #expect(
            try rule(EventFixtures.recurring(["freq": "daily", "interval": 3, "count": 10]))
                == RecurrenceRule(frequency: .daily, interval: 3, end: .count(10)))
        #expect(
            try rule(
                EventFixtures.recurring(["freq": "daily", "interval": 1000, "until": "2027-06-01T09:00:00+02:00"]))
                == RecurrenceRule(
                    frequency: .daily, interval: 1000, end: .until(RFC3339.parse("2027-06-01T07:00:00Z")!)))
        #expect(
            try rule(EventFixtures.recurring(["freq": "monthly", "by_month_day": [-1, 31]], at: "2027-01-31T09:00"))
                == RecurrenceRule(frequency: .monthly, monthDays: [-1, 31]))
    }

    /// The order of a list does not change a rule, so the decoded rule (and the text the
    /// store keeps) is the same whichever order the publisher wrote.
    @Test func listsAreInCanonicalOrder() throws {
        let weekly = try rule(
            EventFixtures.recurring(["freq": "weekly", "interval": 2, "by_day": ["SU", "FR", "MO"]]))
        #expect(weekly?.weekdays == [.monday, .friday, .sunday])
        let monthly = try rule(
            EventFixtures.recurring(["freq": "monthly", "by_month_day": [31, -1, 4, 15]], at: "2027-01-15T09:00"))
        #expect(monthly?.monthDays == [-1, 4, 15, 31])
    }

    @Test func integersMayBeWrittenWithAZeroFraction() throws {
        let bytes = Array(
            String(decoding: EventFixtures.recurring(["freq": "daily", "interval": 2]), as: UTF8.self)
                .replacingOccurrences(of: #""interval":2"#, with: #""interval":2.0"#).utf8)
        #expect(try rule(bytes)?.interval == 2)
    }

    /// What an error says names the weekday or day the rule misses, never a value of the
    /// event that could be personal.
    @Test func aFirstOccurrenceOffTheRuleIsRefusedNamingItsWeekdayOrDay() {
        let weekly = refusal(EventFixtures.recurring(["freq": "weekly", "by_day": ["TU", "TH"]]))
        #expect(weekly?.field == "recurrence.by_day")
        #expect(weekly?.message.contains("(MO)") == true)
        let monthly = refusal(
            EventFixtures.recurring(["freq": "monthly", "by_month_day": [-1]], at: "2027-02-27T09:00"))
        #expect(monthly?.field == "recurrence.by_month_day")
        #expect(monthly?.message.contains("(27, or -2 from the month's end)") == true)
    }

    @Test func aMemberNotNamedLikeOneIsRefusedWithoutRepeatingIt() {
        let name = "ada@example.com"
        let error = refusal(EventFixtures.recurring(["freq": "daily", name: 1]))
        #expect(error?.field == "recurrence")
        #expect(error?.description.contains(name) == false)
    }

    @Test func theFirstRefusalOfEachKindNamesTheField() {
        #expect(
            refusal(EventFixtures.recurring(["freq": "weekly", "by_day": ["MO", "MO"]]))?.field
                == "recurrence.by_day[1]")
        #expect(
            refusal(EventFixtures.recurring(["freq": "daily", "count": 1001]))?.message
                == "must be an integer from 1 to 1000")
        #expect(
            refusal(EventFixtures.recurring(["freq": "daily", "interval": true]))?.message
                == "must be an integer from 1 to 1000, not a boolean")
    }

    @Test(arguments: EventFixtures.validOnes)
    func aRuleWrittenForTheStoreReadsBackUnchanged(fixture: EventFixture) throws {
        let event = try ReminderEventDecoder.decode(fixture.bytes)
        guard case .schedule(let schedule) = event.action, let rule = schedule.recurrence else { return }
        let text = StoredDelivery.json(rule)
        #expect(try StoredDelivery.rule(fromJSON: text) == rule)
        #expect(StoredDelivery.json(try StoredDelivery.rule(fromJSON: text)) == text)
    }

    @Test func theStoredTextIsCompactInAFixedOrderWithoutDefaults() {
        #expect(StoredDelivery.json(RecurrenceRule(frequency: .daily)) == #"{"freq":"daily"}"#)
        #expect(
            StoredDelivery.json(
                RecurrenceRule(frequency: .weekly, interval: 2, weekdays: [.friday, .monday], end: .count(12)))
                == #"{"freq":"weekly","interval":2,"by_day":["MO","FR"],"count":12}"#)
        #expect(
            StoredDelivery.json(
                RecurrenceRule(
                    frequency: .monthly, monthDays: [31, -1],
                    end: .until(Instant(microsecondsSinceEpoch: 1_830_297_600_000_001))))
                == #"{"freq":"monthly","by_month_day":[-1,31],"until":"2028-01-01T00:00:00.000001Z"}"#)
    }

    /// A row changed by hand cannot hold a rule the contract refuses.
    @Test(arguments: [
        (#"{"freq":"hourly"}"#, "recurrence.freq"),
        (#"{"freq":"daily","count":5000}"#, "recurrence.count"),
        (#"{"freq":"daily","by_day":["MO"]}"#, "recurrence.by_day"),
        (#"{"freq":"daily","wkst":"SU"}"#, "recurrence.wkst"),
        (#"{"freq":"daily""#, "recurrence"),
    ])
    func aStoredRuleIsCheckedAgainWhenReadBack(text: String, field: String) {
        let error = #expect(throws: EventValidationError.self) { try StoredDelivery.rule(fromJSON: text) }
        #expect(error?.field == field)
    }
}
