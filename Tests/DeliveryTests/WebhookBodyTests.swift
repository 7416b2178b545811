import Foundation
import ReminderCore
import Testing

@testable import Delivery

/// What a webhook receiver gets of the reminder's content.
struct WebhookBodyTests {
    static func request(_ content: Content) -> DeliveryRequest {
        DeliveryRequest(
            reminderID: "r-1", userID: "u-1", correlationID: nil, channel: .webhook(url: "https://example.com/h"),
            content: content, attempt: 1, dueAt: Instant(secondsSinceEpoch: 1_700_000_000))
    }

    static func json(_ content: Content) throws -> [String: Any] {
        let body = WebhookProvider.body(for: request(content))
        return try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
    }

    @Test func htmlAndUnsubscribeURLArePassedAlongWhenTheReminderHasThem() throws {
        let json = try Self.json(
            Content(
                title: "T", body: "b", data: #"{"k":1}"#, html: "<p>\"9:30\" ✓</p>",
                unsubscribeURL: "https://example.com/u?x=1"))
        #expect(json["html"] as? String == "<p>\"9:30\" ✓</p>")
        #expect(json["unsubscribe_url"] as? String == "https://example.com/u?x=1")
        #expect((json["data"] as? [String: Any])?["k"] as? Int == 1)
    }

    @Test func aReminderWithoutThemHasTheBodyItAlwaysHad() throws {
        let body = String(
            decoding: WebhookProvider.body(for: Self.request(Content(title: "T", body: "b", data: nil))), as: UTF8.self)
        #expect(
            body
                == #"{"reminder_id":"r-1","user_id":"u-1","correlation_id":null,"due_at":"2023-11-14T22:13:20Z","attempt":1,"title":"T","body":"b","data":null}"#
        )
    }
}
