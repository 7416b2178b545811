import Delivery
import Foundation
import Logging
import ReminderCore
import TestSupport
import Testing

/// The SendGrid provider against a loopback stand-in (scripts/provider_sink.py with
/// `--sendgrid-key`) that checks the Mail Send request contract and answers as SendGrid
/// does: 202 with an `X-Message-Id`, 400 with `{"errors":[{"message","field"}]}`, 401 for
/// a wrong key, and whatever a test scripts (429, 503, 413 …).
@Suite(.timeLimit(.minutes(6)))
struct SendGridProviderTests {
    static let logger = Logger(label: "sendgrid-tests")
    static let key = "SG.test-key-0123456789"
    static let path = "/v3/mail/send"
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func request(
        to: String = "patient@example.test", title: String = "Zahnarzt 🦷", body: String = "Morgen um 9:30",
        html: String? = nil, unsubscribeURL: String? = nil
    ) -> DeliveryRequest {
        DeliveryRequest(
            reminderID: "reminder-7", userID: "user-1", correlationID: nil, channel: .email(to: to),
            content: Content(title: title, body: body, data: #"{"k":1}"#, html: html, unsubscribeURL: unsubscribeURL),
            attempt: 1, dueAt: Instant(secondsSinceEpoch: 1_790_000_000))
    }

    static func withStandIn(_ body: (ProviderSink, HTTPTransport) async throws -> Void) async throws {
        let sink = try await ProviderSink(lifetime: 120, arguments: ["--sendgrid-key", key])
        let transport = try HTTPTransport(configuration: .init(timeout: .seconds(30), caFile: sink.caFile))
        do {
            try await body(sink, transport)
        } catch {
            try? await transport.shutdown()
            await sink.stop()
            throw error
        }
        try await transport.shutdown()
        await sink.stop()
    }

    static func provider(_ sink: ProviderSink, _ transport: HTTPTransport, key: String = key) -> SendGridProvider {
        SendGridProvider(
            transport: transport,
            configuration: .init(
                baseURL: sink.baseURL, apiKey: key, fromAddress: "reminders@example.org", fromName: "Rappels Médicaux"),
            logger: logger, clock: { now })
    }

    static func failure(_ provider: SendGridProvider, _ request: DeliveryRequest) async -> DeliveryFailure? {
        do {
            _ = try await provider.send(request)
            return nil
        } catch {
            return error
        }
    }

    @Test func aReminderWithoutHTMLIsOneTextContentToOneRecipient() async throws {
        try await Self.withStandIn { sink, transport in
            let receipt = try await Self.provider(sink, transport).send(Self.request())
            #expect(receipt.answer == "HTTP 202")
            #expect(receipt.providerMessageID?.hasPrefix("sg-standin-") == true)
            let received = try #require(try await sink.requests(path: Self.path).first)
            #expect(received.method == "POST")
            #expect(received.headers["authorization"] == "Bearer \(Self.key)")
            #expect(received.headers["content-type"] == "application/json")
            let json = try #require(received.json)
            let personalizations = try #require(json["personalizations"] as? [[String: Any]])
            #expect(personalizations.count == 1)
            #expect((personalizations[0]["to"] as? [[String: String]]) == [["email": "patient@example.test"]])
            #expect(
                json["from"] as? [String: String] == ["email": "reminders@example.org", "name": "Rappels Médicaux"])
            #expect(json["subject"] as? String == "Zahnarzt 🦷")
            #expect(json["content"] as? [[String: String]] == [["type": "text/plain", "value": "Morgen um 9:30"]])
            #expect(json["headers"] == nil)
            #expect(json["custom_args"] as? [String: String] == ["reminder_id": "reminder-7"])
        }
    }

    @Test func htmlFollowsTheTextAndAnHTTPSUnsubscribeURLAddsOneClickHeaders() async throws {
        try await Self.withStandIn { sink, transport in
            let html = "<p>Morgen um <b>9:30</b> — \"Praxis\"</p>"
            let url = "https://example.com/unsubscribe?u=42&t=abc"
            _ = try await Self.provider(sink, transport).send(Self.request(html: html, unsubscribeURL: url))
            let json = try #require(try await sink.requests(path: Self.path).first?.json)
            #expect(
                json["content"] as? [[String: String]] == [
                    ["type": "text/plain", "value": "Morgen um 9:30"], ["type": "text/html", "value": html],
                ])
            #expect(
                json["headers"] as? [String: String] == [
                    "List-Unsubscribe": "<\(url)>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                ])
        }
    }

    /// SendGrid refuses an empty content value: the stand-in would answer 400.
    @Test func anEmptyBodySendsTheTitleAsTextAndAMailtoURLHasNoOneClickHeader() async throws {
        try await Self.withStandIn { sink, transport in
            let url = "mailto:unsubscribe@example.com?subject=stop"
            let receipt = try await Self.provider(sink, transport).send(Self.request(body: "", unsubscribeURL: url))
            #expect(receipt.answer == "HTTP 202")
            let json = try #require(try await sink.requests(path: Self.path).first?.json)
            #expect(json["content"] as? [[String: String]] == [["type": "text/plain", "value": "Zahnarzt 🦷"]])
            #expect(json["headers"] as? [String: String] == ["List-Unsubscribe": "<\(url)>"])
        }
    }

    @Test func aRefusedKeyIsATransientAuthFailureForTheOperator() async throws {
        try await Self.withStandIn { sink, transport in
            let failure = await Self.failure(Self.provider(sink, transport, key: "SG.wrong"), Self.request())
            #expect(failure == .transient("auth", "HTTP 401"))
            let requests = try await sink.count()
            #expect(requests == 1)
        }
    }

    /// The stand-in's message repeats the address; the failure names the field only.
    @Test func aRecipientSendGridRefusesIsPermanentAndNotRepeated() async throws {
        try await Self.withStandIn { sink, transport in
            let failure = await Self.failure(Self.provider(sink, transport), Self.request(to: "patient-at-example"))
            #expect(failure == .recipient("invalid_recipient", "HTTP 400 field personalizations.0.to.0.email"))
            #expect(failure?.answer.contains("patient") == false)
        }
    }

    @Test func anyOtherRefusedRequestIsPermanentInvalidRequestNamingTheFields() async throws {
        try await Self.withStandIn { sink, transport in
            let failure = await Self.failure(Self.provider(sink, transport), Self.request(title: "", body: ""))
            #expect(failure == .permanent("invalid_request", "HTTP 400 field subject,content.0.value"))
        }
    }

    @Test func scriptedAnswersAreClassified() async throws {
        try await Self.withStandIn { sink, transport in
            let reset = String(Int(Self.now.timeIntervalSince1970) + 30)
            try await sink.script(
                Self.path,
                [
                    .status(429, headers: ["Retry-After": "7"]), .status(429, headers: ["X-RateLimit-Reset": reset]),
                    .status(503), .status(500, headers: ["Retry-After": "2"]), .status(403), .status(413),
                    .status(
                        400, body: #"{"errors":[{"message":"ada@example.com is not verified","field":"from.email"}]}"#),
                    .status(404),
                ], then: .status(202, headers: ["X-Message-Id": "after-the-script"]))
            var outcomes: [DeliveryFailure?] = []
            for _ in 0..<8 { outcomes.append(await Self.failure(Self.provider(sink, transport), Self.request())) }
            #expect(
                outcomes.map { $0?.errorClass } == [
                    "http_429", "http_429", "http_503", "http_500", "auth", "http_413", "invalid_request", "http_404",
                ])
            #expect(
                outcomes.map { $0?.kind } == [
                    .transient, .transient, .transient, .transient, .transient, .permanent, .permanent, .transient,
                ])
            #expect(outcomes[0]?.retryAfter == .seconds(7))
            #expect(outcomes[1]?.retryAfter == .seconds(30))
            #expect(outcomes[3]?.retryAfter == .seconds(2))
            #expect(outcomes[6]?.answer == "HTTP 400 field from.email")
            #expect(outcomes.allSatisfy { $0?.answer.contains("@") != true })
            let receipt = try await Self.provider(sink, transport).send(Self.request())
            #expect(receipt == DeliveryReceipt(answer: "HTTP 202", providerMessageID: "after-the-script"))
        }
    }

    /// The stand-in is only worth its passes if it refuses what SendGrid would: requests
    /// that break the contract, sent to it directly.
    @Test func theStandInRefusesRequestsThatBreakTheContract() async throws {
        let sink = try await ProviderSink(lifetime: 120, arguments: ["--sendgrid-key", Self.key])
        func post(_ body: String, contentType: String = "application/json") async throws -> (Int, [String]) {
            let (status, answer) = try await sink.post(
                Self.path, headers: ["Authorization": "Bearer \(Self.key)", "Content-Type": contentType], body: body)
            let json = try? JSONSerialization.jsonObject(with: Data(answer)) as? [String: Any]
            return (status, (json?["errors"] as? [[String: Any]] ?? []).map { $0["field"] as? String ?? "null" })
        }
        do {
            let plain = #"{"type":"text/plain","value":"t"}"#
            let html = #"{"type":"text/html","value":"h"}"#
            let valid =
                #"{"personalizations":[{"to":[{"email":"a@example.com"}]}],"from":{"email":"r@example.org"},"#
                + #""subject":"S","content":["# + plain + "," + html + "]}"
            #expect(try await post(valid).0 == 202)
            let htmlFirst = valid.replacingOccurrences(of: plain + "," + html, with: html + "," + plain)
            #expect(try await post(htmlFirst) == (400, ["content.0.type", "content.1.type"]))
            let twoRecipients = valid.replacingOccurrences(
                of: #"[{"email":"a@example.com"}]"#, with: #"[{"email":"a@example.com"},{"email":"b@example.com"}]"#)
            #expect(try await post(twoRecipients) == (400, ["personalizations.0.to"]))
            let noSubject = valid.replacingOccurrences(of: #""subject":"S""#, with: #""subject":"""#)
            #expect(try await post(noSubject) == (400, ["subject"]))
            let badSender = valid.replacingOccurrences(of: "r@example.org", with: "r")
            #expect(try await post(badSender) == (400, ["from.email"]))
            let emptyValue = valid.replacingOccurrences(of: #""value":"t""#, with: #""value":"""#)
            #expect(try await post(emptyValue) == (400, ["content.0.value"]))
            #expect(try await post(valid, contentType: "text/plain").0 == 400)
            #expect(try await sink.count() == 7)
        } catch {
            await sink.stop()
            throw error
        }
        await sink.stop()
    }
}
