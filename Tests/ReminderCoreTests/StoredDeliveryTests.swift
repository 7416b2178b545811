import ReminderCore
import TestSupport
import Testing

/// What a store writes of a schedule's channels and content is what the dispatcher reads
/// back: the stores share the writer, so this is the one place the round trip is checked.
@Suite struct StoredDeliveryTests {
    @Test(arguments: EventFixtures.validOnes)
    func channelsAndContentWrittenForTheStoreReadBackUnchanged(fixture: EventFixture) throws {
        let event = try ReminderEventDecoder.decode(fixture.bytes)
        guard case .schedule(let schedule) = event.action else { return }
        #expect(try StoredDelivery.channels(fromJSON: StoredDelivery.json(schedule.channels)) == schedule.channels)
        #expect(try StoredDelivery.content(fromJSON: StoredDelivery.json(schedule.content)) == schedule.content)
    }

    @Test func contentDataIsKeptAsTheEventsOwnCompactText() {
        let content = Content(title: "Dentist \"9:30\"", body: "", data: #"{"room":3,"tags":["a"]}"#)
        #expect(
            StoredDelivery.json(content) == #"{"title":"Dentist \"9:30\"","body":"","data":{"room":3,"tags":["a"]}}"#)
    }

    @Test func htmlAndUnsubscribeURLAreStoredOnlyWhenGiven() throws {
        let content = Content(
            title: "T", body: "b", data: nil, html: "<p>\"x\"</p>", unsubscribeURL: "mailto:u@example.com")
        let text = StoredDelivery.json(content)
        #expect(text == #"{"title":"T","body":"b","html":"<p>\"x\"</p>","unsubscribe_url":"mailto:u@example.com"}"#)
        #expect(try StoredDelivery.content(fromJSON: text) == content)
        #expect(StoredDelivery.json(Content(title: "T", body: "b", data: nil)) == #"{"title":"T","body":"b"}"#)
    }

    /// A row changed by hand cannot put a line break into the List-Unsubscribe header.
    @Test func aStoredUnsubscribeURLIsCheckedAgainWhenReadBack() {
        let text = #"{"title":"T","body":"","unsubscribe_url":"https://example.com/u\r\nBcc: x@example.com"}"#
        let error = #expect(throws: EventValidationError.self) { try StoredDelivery.content(fromJSON: text) }
        #expect(error?.field == "content.unsubscribe_url")
    }
}
