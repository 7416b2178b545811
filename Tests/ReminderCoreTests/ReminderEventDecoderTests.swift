import Foundation
import ReminderCore
import TestSupport
import Testing

@Suite struct ReminderEventDecoderTests {
    @Test(arguments: EventFixtures.validOnes)
    func validEventsDecode(fixture: EventFixture) throws {
        _ = try ReminderEventDecoder.decode(fixture.bytes)
    }

    @Test(arguments: EventFixtures.invalidOnes)
    func invalidEventsNameTheFieldAtFault(fixture: EventFixture) {
        let error = #expect(throws: EventValidationError.self) { try ReminderEventDecoder.decode(fixture.bytes) }
        #expect(error?.field.hasPrefix(fixture.invalidField!) == true, "\(fixture.name): \(String(describing: error))")
    }

    @Test func theCatalogueCoversAtLeast25KindsOfInvalidInput() {
        #expect(EventFixtures.invalidOnes.count >= 25)
        #expect(Set(EventFixtures.all.map(\.name)).count == EventFixtures.all.count)
    }

    @Test func aFullScheduleKeepsEveryField() throws {
        let event = try ReminderEventDecoder.decode(EventFixtures.json(EventFixtures.fullEvent()))
        #expect(event.idempotencyKey == "key-1")
        #expect(event.reminderID == "reminder-1")
        #expect(event.userID == "user-1")
        #expect(event.correlationID == "corr-1")
        guard case .schedule(let schedule) = event.action else {
            Issue.record("expected a schedule")
            return
        }
        #expect(schedule.timeZone == "Europe/Berlin")
        #expect(schedule.deliverAt == .instant(RFC3339.parse("2026-03-29T07:30:00Z")!))
        #expect(
            schedule.channels == [
                .email(to: "ada@example.com"), .sms(to: "+4915112345678"), .push(platform: .fcm, token: "device-token"),
                .webhook(url: "https://hooks.example.com/reminders?x=1"),
            ])
        #expect(schedule.content.title == "Dentist")
        #expect(schedule.content.data == #"{"room":3,"tags":["a"]}"#)
        #expect(
            schedule.quietHours == QuietHours(start: LocalTime(parsing: "22:00")!, end: LocalTime(parsing: "07:00")!))
        #expect(schedule.expiresAt == RFC3339.parse("2026-03-30T00:00:00Z"))
    }

    @Test func aScheduleWithoutZoneIsInUTC() throws {
        let event = try ReminderEventDecoder.decode(EventFixtures.validOnes[1].bytes)
        guard case .schedule(let schedule) = event.action else {
            Issue.record("expected a schedule")
            return
        }
        #expect(schedule.timeZone == "UTC")
    }

    @Test func errorsNeverRepeatTheValueAtFault() {
        let address = "ada.secret.example.com"
        let bytes = EventFixtures.channel(0) { $0["to"] = address }
        let error = #expect(throws: EventValidationError.self) { try ReminderEventDecoder.decode(bytes) }
        #expect(error?.description.contains(address) == false)
    }

    private func content(_ bytes: [UInt8]) throws -> Content {
        guard case .schedule(let schedule) = try ReminderEventDecoder.decode(bytes).action else {
            throw EventValidationError(field: "type", message: "expected a schedule")
        }
        return schedule.content
    }

    @Test func htmlAndUnsubscribeURLAreDecodedIntoTheContent() throws {
        let content = try content(
            EventFixtures.content {
                $0["html"] = "<p>9:30</p>"
                $0["unsubscribe_url"] = "https://example.com/u?id=1"
            })
        #expect(content.html == "<p>9:30</p>")
        #expect(content.unsubscribeURL == "https://example.com/u?id=1")
        #expect(content.body == "Tomorrow at 9:30")
        let plain = try self.content(EventFixtures.json(EventFixtures.fullEvent()))
        #expect(plain.html == nil && plain.unsubscribeURL == nil)
    }

    /// The header line a URL goes into must not end early: a trailing line feed is refused
    /// too (the agreement test leaves this one out, since Python's `$` matches before a
    /// final newline).
    @Test(arguments: ["https://example.com/u\n", "mailto:a@example.com\r", "https://example.com/\tx"])
    func anUnsubscribeURLWithAControlCharacterIsRefused(url: String) {
        let bytes = EventFixtures.content { $0["unsubscribe_url"] = url }
        let error = #expect(throws: EventValidationError.self) { try ReminderEventDecoder.decode(bytes) }
        #expect(error?.field == "content.unsubscribe_url")
    }
}
