import Foundation
import Logging
import NIOHTTP1
import ReminderCore
import Testing

@testable import Delivery

/// How SendGrid's answers are read, without a server: what a failure may say, and how
/// long a rate limit asks to wait.
struct SendGridAnswerTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func answer(_ status: Int, _ body: String = "", headers: [(String, String)] = []) -> HTTPTransport.Answer {
        HTTPTransport.Answer(status: status, headers: HTTPHeaders(headers), body: Array(body.utf8))
    }

    /// Only field paths survive: a `field` holding an address or free text is dropped,
    /// and the messages are never read.
    @Test func aRefusalNamesFieldPathsAndNeverTheAddressOrTheMessage() {
        let body = #"""
            {"errors":[
              {"message":"ada@example.com does not exist","field":"personalizations.0.to.0.email"},
              {"message":"x","field":"ada@example.com"},
              {"message":"x","field":"subject line with spaces"},
              {"message":"x","field":null},
              {"message":"x","field":"personalizations.0.to.0.email"}
            ]}
            """#
        let failure = SendGridProvider.failure(for: Self.answer(400, body), now: Self.now)
        #expect(failure == .recipient("invalid_recipient", "HTTP 400 field personalizations.0.to.0.email"))
    }

    @Test func a400AboutAnythingElseOrWithoutABodyIsAnInvalidRequest() {
        #expect(
            SendGridProvider.failure(for: Self.answer(400, #"{"errors":[{"field":"content.0.value"}]}"#), now: Self.now)
                == .permanent("invalid_request", "HTTP 400 field content.0.value"))
        #expect(
            SendGridProvider.failure(for: Self.answer(400, "<html>bad</html>"), now: Self.now)
                == .permanent("invalid_request", "HTTP 400"))
        #expect(
            SendGridProvider.failure(for: Self.answer(400, #"{"errors":[{"field":"from.email"}]}"#), now: Self.now)?
                .errorClass == "invalid_request")
    }

    @Test func a429WaitsForRetryAfterElseForTheRateLimitReset() {
        let both = Self.answer(429, headers: [("Retry-After", "5"), ("X-RateLimit-Reset", "1800000060")])
        #expect(SendGridProvider.failure(for: both, now: Self.now)?.retryAfter == .seconds(5))
        let reset = Self.answer(429, headers: [("X-RateLimit-Reset", "1800000060")])
        #expect(SendGridProvider.failure(for: reset, now: Self.now)?.retryAfter == .seconds(60))
        let past = Self.answer(429, headers: [("X-RateLimit-Reset", "1700000000")])
        #expect(SendGridProvider.failure(for: past, now: Self.now)?.retryAfter == .zero)
        #expect(SendGridProvider.failure(for: Self.answer(429), now: Self.now)?.retryAfter == nil)
        #expect(SendGridProvider.failure(for: Self.answer(429), now: Self.now)?.kind == .transient)
    }

    @Test func theMessageIDIsKeptOnlyWhenItLooksLikeOne() {
        #expect(SendGridProvider.messageID("14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0") != nil)
        #expect(SendGridProvider.messageID("has space") == nil)
        #expect(SendGridProvider.messageID(String(repeating: "x", count: 129)) == nil)
        #expect(SendGridProvider.messageID(nil) == nil)
    }

    @Test func theKeyNeverShowsInTheConfigurationsDescription() {
        let configuration = SendGridProvider.Configuration(apiKey: "SG.k3y-secret", fromAddress: "r@example.org")
        #expect(!"\(configuration)".contains("k3y"))
        #expect(SendGridProvider.Configuration.problem(withAPIKey: "SG.k3y secret")?.contains("k3y") == false)
        #expect(SendGridProvider.Configuration.problem(withAPIKey: "SG.k3y-secret") == nil)
        #expect(SendGridProvider.Configuration.problem(withSender: "r@example.org") == nil)
        #expect(SendGridProvider.Configuration.problem(withSender: "r example.org") != nil)
    }

    /// Refused before any connection (the base URL points at a port nothing listens on).
    @Test func anUnsubscribeURLThatCouldLeaveItsHeaderIsRefusedBeforeSending() async throws {
        let transport = try HTTPTransport(configuration: .init(timeout: .seconds(5)))
        let provider = SendGridProvider(
            transport: transport,
            configuration: .init(baseURL: "http://127.0.0.1:1", apiKey: "SG.k", fromAddress: "r@example.org"),
            logger: Logger(label: "sendgrid-unit"))
        let request = DeliveryRequest(
            reminderID: "r-1", userID: "u-1", correlationID: nil, channel: .email(to: "ada@example.com"),
            content: Content(
                title: "T", body: "b", data: nil, unsubscribeURL: "https://example.com/u\r\nBcc: victim@example.com"),
            attempt: 1, dueAt: Instant(secondsSinceEpoch: 0))
        var failure: DeliveryFailure?
        do {
            _ = try await provider.send(request)
        } catch {
            failure = error
        }
        try await transport.shutdown()
        #expect(failure == .permanent("invalid_header", "the unsubscribe URL holds a character a header cannot"))
    }
}
