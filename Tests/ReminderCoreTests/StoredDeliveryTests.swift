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
}
