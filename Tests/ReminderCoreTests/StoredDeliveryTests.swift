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

    /// The text is written byte by byte: it is what a `JSONValue` tree of the same members
    /// serialises to, whatever the strings hold (quotes, backslashes, control characters,
    /// text beyond ASCII), for every channel type and the content's optional members.
    @Test func theWrittenTextIsTheTreesSerialisation() {
        let strings = ["plain", "say \"hi\"", #"back\slash"#, "line\nbreak\ttab\u{1}", "héllo ✓ 𝄞", ""]
        for text in strings {
            let channels: [Channel] = [
                .email(to: text), .sms(to: text), .push(platform: .apns, token: text), .webhook(url: text),
            ]
            let tree = JSONValue.array([
                .object([("type", .string("email")), ("to", .string(text))]),
                .object([("type", .string("sms")), ("to", .string(text))]),
                .object([("type", .string("push")), ("platform", .string("apns")), ("token", .string(text))]),
                .object([("type", .string("webhook")), ("url", .string(text))]),
            ])
            #expect(StoredDelivery.json(channels) == tree.serialized)
            #expect(StoredDelivery.jsonBytes(channels) == Array(tree.serialized.utf8))
            let content = Content(title: text, body: text, data: #"{"k":[1]}"#, html: text, unsubscribeURL: text)
            let members: [(key: String, value: JSONValue)] = [
                ("title", .string(text)), ("body", .string(text)), ("data", .object([("k", .array([.number("1")]))])),
                ("html", .string(text)), ("unsubscribe_url", .string(text)),
            ]
            #expect(StoredDelivery.json(content) == JSONValue.object(members).serialized)
            #expect(StoredDelivery.jsonBytes(content) == Array(JSONValue.object(members).serialized.utf8))
            let bare = Content(title: text, body: text, data: nil)
            #expect(StoredDelivery.json(bare) == JSONValue.object(Array(members.prefix(2))).serialized)
        }
        #expect(StoredDelivery.json([Channel]()) == "[]")
    }

    /// A row changed by hand cannot put a line break into the List-Unsubscribe header.
    @Test func aStoredUnsubscribeURLIsCheckedAgainWhenReadBack() {
        let text = #"{"title":"T","body":"","unsubscribe_url":"https://example.com/u\r\nBcc: x@example.com"}"#
        let error = #expect(throws: EventValidationError.self) { try StoredDelivery.content(fromJSON: text) }
        #expect(error?.field == "content.unsubscribe_url")
    }
}
