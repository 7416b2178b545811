import Foundation
import ReminderCore
import Testing

@testable import Delivery

/// What the SES and SNS providers make of AWS's answers and of a reminder, without a
/// server.
@Suite struct AWSProviderClassificationTests {
    /// An answer with no headers: the error code comes from the body.
    func answer(_ status: Int, _ body: String = "") -> HTTPTransport.Answer {
        HTTPTransport.Answer(status: status, headers: .init(), body: Array(body.utf8))
    }

    @Test(arguments: [
        ("MessageRejected", "MessageRejected"),
        ("NotFoundException:http://internal.amazon.com/coral/com.amazon.coral.service/", "NotFoundException"),
        ("com.amazonaws.ses#TooManyRequestsException", "TooManyRequestsException"),
        ("Email address is not verified: a@example.org", nil),
        ("", nil),
    ])
    func onlyAnErrorCodeIsTakenFromAnAnswer(text: String, code: String?) {
        #expect(AWSService.safeCode(Substring(text)) == code)
    }

    @Test func sesClassifiesWhatRemainsForTheOperatorAsTransient() {
        #expect(
            SESProvider.failure(for: answer(400, #"{"__type":"SendingPausedException"}"#))
                == .transient("account", "HTTP 400 SendingPausedException"))
        #expect(SESProvider.failure(for: answer(401)) == .transient("auth", "HTTP 401"))
        #expect(
            SESProvider.failure(for: answer(400, #"{"code":"MailFromDomainNotVerifiedException"}"#))
                == .transient("configuration", "HTTP 400 MailFromDomainNotVerifiedException"))
        // Not verified is the operator's (the message is read, never recorded); other
        // rejections are the message's.
        #expect(
            SESProvider.failure(
                for: answer(400, #"{"__type":"MessageRejected","message":"Email address is not verified: a@b.c"}"#))
                == .transient("configuration", "HTTP 400 MessageRejected (not verified)"))
        #expect(
            SESProvider.failure(for: answer(400, #"{"__type":"MessageRejected","message":"Illegal content"}"#))
                == .permanent("message_rejected", "HTTP 400 MessageRejected"))
        #expect(SESProvider.failure(for: answer(413)) == .permanent("http_413", "HTTP 413"))
    }

    @Test func snsClassifiesByCodeThenStatus() {
        #expect(
            SNSProvider.failure(status: 400, code: "OptedOut", retryAfter: nil)
                == .recipient("opted_out", "HTTP 400 OptedOut"))
        #expect(
            SNSProvider.failure(status: 400, code: "InvalidClientTokenId", retryAfter: nil)
                == .transient("auth", "HTTP 400 InvalidClientTokenId"))
        #expect(
            SNSProvider.failure(status: 503, code: nil, retryAfter: .seconds(2))
                == .transient("http_503", "HTTP 503", retryAfter: .seconds(2)))
        #expect(SNSProvider.failure(status: 400, code: nil, retryAfter: nil) == .permanent("http_400", "HTTP 400"))
    }

    @Test func snsReadsTheFirstElementOfAnAnswer() {
        let xml = "<PublishResponse><PublishResult><MessageId> m-1 </MessageId></PublishResult></PublishResponse>"
        #expect(SNSProvider.element("MessageId", in: xml) == "m-1")
        #expect(SNSProvider.element("Code", in: xml) == nil)
    }

    @Test func aReminderWithoutBodyOrHTMLSendsItsTitleAsText() throws {
        let configuration = SESProvider.Configuration(
            credentials: AWSCredentials(accessKeyID: "A", secretAccessKey: "S"), region: "eu-west-1",
            from: SMTPMailbox(address: "a@example.org"))
        let bytes = try SESProvider.body(
            for: Content(title: "Only a title", body: "", data: nil), to: "b@example.org", configuration: configuration)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let simple = try #require((json["Content"] as? [String: Any])?["Simple"] as? [String: Any])
        let body = try #require(simple["Body"] as? [String: Any])
        #expect((body["Text"] as? [String: Any])?["Data"] as? String == "Only a title")
        #expect(body["Html"] == nil)
        #expect(simple["Headers"] == nil)
        #expect(json["FromEmailAddress"] as? String == "a@example.org")
        #expect(json["ConfigurationSetName"] == nil)
        #expect(configuration.endpoint == "https://email.eu-west-1.amazonaws.com")
    }

    @Test func aSubjectOrUnsubscribeURLThatCouldEndAHeaderIsRefused() {
        let configuration = SESProvider.Configuration(
            credentials: AWSCredentials(accessKeyID: "A", secretAccessKey: "S"), region: "eu-west-1",
            from: SMTPMailbox(address: "a@example.org"))
        for content in [
            Content(title: "Hi\r\nBcc: x@example.org", body: "b", data: nil),
            Content(title: "Hi", body: "b", data: nil, unsubscribeURL: "https://e.example/u>\r\nX: y"),
        ] {
            #expect(throws: DeliveryFailure.self) {
                try SESProvider.body(for: content, to: "b@example.org", configuration: configuration)
            }
        }
    }

    @Test func theHostHeaderNamesAPortOnlyWhenItIsNotTheDefault() throws {
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyID: "A", secretAccessKey: "S"), region: "eu-west-1", service: "sns")
        #expect(
            AWSService(signer: signer, endpoint: "https://sns.eu-west-1.amazonaws.com/")?.hostHeader
                == "sns.eu-west-1.amazonaws.com")
        #expect(AWSService(signer: signer, endpoint: "http://127.0.0.1:4566")?.hostHeader == "127.0.0.1:4566")
        #expect(AWSService(signer: signer, endpoint: "https://h.example:443")?.hostHeader == "h.example")
        #expect(AWSService(signer: signer, endpoint: "ftp://h.example") == nil)
    }
}
