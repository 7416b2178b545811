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

    @Test func everyStringIsEscapedAsJSONValueEscapesIt() throws {
        let tricky = "q\"b\\s\u{0001}\n\t é ✓ 😀 </script>"
        let request = DeliveryRequest(
            reminderID: tricky, userID: tricky, correlationID: tricky, channel: .webhook(url: "https://example.com/h"),
            content: Content(title: tricky, body: tricky, data: "[1]", html: tricky, unsubscribeURL: tricky),
            attempt: 3, dueAt: Instant(secondsSinceEpoch: 1_700_000_000), occurrence: 7)
        let quoted = JSONValue.string(tricky).serialized
        let expected =
            #"{"reminder_id":\#(quoted),"user_id":\#(quoted),"correlation_id":\#(quoted),"#
            + #""due_at":"2023-11-14T22:13:20Z","attempt":3,"title":\#(quoted),"body":\#(quoted),"data":[1],"#
            + #""html":\#(quoted),"unsubscribe_url":\#(quoted),"occurrence":7}"#
        let body = WebhookProvider.body(for: request)
        #expect(String(decoding: body, as: UTF8.self) == expected)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect(json["title"] as? String == tricky)
    }
}

/// The signature receivers check: HMAC-SHA256 of `<timestamp>.<body>`, hex; the values
/// were computed with Python's `hmac` module.
struct WebhookSignatureTests {
    @Test func theSignatureIsTheHMACOfTimestampDotBody() {
        #expect(
            WebhookProvider.signature(
                secret: Array("whsec-test-key".utf8), timestamp: "1700000000", body: Array(#"{"a":1}"#.utf8))
                == "9a214c6d63b230a79e500518445176f01ae5eb75b3e0769f80d7adc4943415f3")
    }

    @Test func oneSignerSignsEachMessageAfreshWithAKeyLongerThanABlock() {
        // 100 bytes: longer than SHA-256's block, so the key itself is hashed first.
        let signer = WebhookProvider.Signer(secret: (0..<100).map(UInt8.init))
        let expected = "e75d178fcbf6057c68f9d7fde88a002ec1433147a21d3fddf6f9f4aa109916bf"
        #expect(signer.signature(timestamp: "1", body: []) == expected)
        #expect(signer.signature(timestamp: "2", body: [1]) != expected)
        #expect(signer.signature(timestamp: "1", body: []) == expected)
    }

    @Test func sendsSigningAtOnceEachGetTheirOwnMessagesSignature() async {
        let secret = Array("whsec-shared".utf8)
        let signer = WebhookProvider.Signer(secret: secret)
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for task in 0..<8 {
                group.addTask {
                    var mismatches = 0
                    for index in 0..<200 {
                        let body = Array("\(task)-\(index)".utf8)
                        let fresh = WebhookProvider.Signer(secret: secret).signature(timestamp: "\(index)", body: body)
                        if signer.signature(timestamp: "\(index)", body: body) != fresh { mismatches += 1 }
                    }
                    return mismatches
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }
}
