import Delivery
import Foundation
import Logging
import ReminderCore
import TestSupport
import Testing

/// The SES and SNS providers against moto (scripts/moto_peer.py), read back from what
/// moto recorded, and against the provider sink for the answers moto does not give
/// (throttling, server errors, refused credentials) and for the signed request itself.
@Suite(.timeLimit(.minutes(6)))
struct AWSProviderTests {
    static let logger = Logger(label: "aws-provider-tests")
    static let credentials = AWSCredentials(
        accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let region = "eu-west-1"
    static let sender = "reminders@example.org"

    func request(_ channel: Channel, content: Content) -> DeliveryRequest {
        DeliveryRequest(
            reminderID: "reminder-1", userID: "user-1", correlationID: nil, channel: channel, content: content,
            attempt: 1, dueAt: Instant(secondsSinceEpoch: 1_790_000_000))
    }

    func ses(_ transport: HTTPTransport, endpoint: String, from: String = sender, name: String? = "Erinnerungen")
        -> SESProvider
    {
        SESProvider(
            transport: transport,
            configuration: .init(
                credentials: Self.credentials, region: Self.region, endpoint: endpoint,
                from: SMTPMailbox(address: from, displayName: name)),
            logger: Self.logger)
    }

    func sns(_ transport: HTTPTransport, endpoint: String, senderID: String? = nil) -> SNSProvider {
        SNSProvider(
            transport: transport,
            configuration: .init(
                credentials: Self.credentials, region: Self.region, endpoint: endpoint, senderID: senderID),
            logger: Self.logger)
    }

    func failure(_ body: () async throws(DeliveryFailure) -> DeliveryReceipt) async -> DeliveryFailure? {
        do {
            _ = try await body()
            return nil
        } catch {
            return error
        }
    }

    func withMoto(_ body: (MotoServer, HTTPTransport) async throws -> Void) async throws {
        let moto = try await MotoServer(verifiedSenders: [Self.sender], region: Self.region, lifetime: 170)
        let transport = try HTTPTransport(configuration: .init(timeout: .seconds(20)))
        do {
            try await body(moto, transport)
        } catch {
            try? await transport.shutdown()
            await moto.stop()
            throw error
        }
        try await transport.shutdown()
        await moto.stop()
    }

    func withSink(_ body: (ProviderSink, HTTPTransport) async throws -> Void) async throws {
        let sink = try await ProviderSink(lifetime: 170)
        let transport = try HTTPTransport(configuration: .init(timeout: .seconds(10), caFile: sink.caFile))
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

    // MARK: moto

    @Test func sesDeliversTheSubjectAndTheHTMLOrTextBodyToTheRecipient() async throws {
        try await withMoto { moto, transport in
            let provider = ses(transport, endpoint: moto.endpoint)
            let withHTML = Content(
                title: "Zahnarzt 🦷", body: "Morgen um 9:30", data: nil, html: "<p>Morgen um <b>9:30</b></p>",
                unsubscribeURL: "https://example.org/unsubscribe?u=1")
            let first = try await provider.send(request(.email(to: "patient@example.com"), content: withHTML))
            let textOnly = Content(title: "Physio", body: "Donnerstag 14 Uhr", data: nil)
            let second = try await provider.send(request(.email(to: "other@example.com"), content: textOnly))
            #expect(first.answer == "HTTP 200")
            let firstID = try #require(first.providerMessageID)
            let secondID = try #require(second.providerMessageID)

            let messages = try await moto.records(service: "ses", model: "Message")
            let recorded = Dictionary(
                messages.compactMap { message in (message["id"] as? String).map { ($0, message) } }
            ) { a, _ in a }
            let html = try #require(recorded[firstID])
            #expect(html["source"] as? String == "\"Erinnerungen\" <reminders@example.org>")
            #expect(html["subject"] as? String == "Zahnarzt 🦷")
            // moto keeps the HTML part when there is one, else the text part.
            #expect(html["body"] as? String == "<p>Morgen um <b>9:30</b></p>")
            #expect((html["destinations"] as? [String: [String]])?["ToAddresses"] == ["patient@example.com"])
            let text = try #require(recorded[secondID])
            #expect(text["subject"] as? String == "Physio")
            #expect(text["body"] as? String == "Donnerstag 14 Uhr")
            #expect((text["destinations"] as? [String: [String]])?["ToAddresses"] == ["other@example.com"])
        }
    }

    /// A sender SES has not verified is the operator's to fix: transient, so the reminder
    /// waits or goes to the next email provider; nothing is sent.
    @Test func sesRefusesAnUnverifiedSenderAsTheOperatorsMistake() async throws {
        try await withMoto { moto, transport in
            let provider = ses(transport, endpoint: moto.endpoint, from: "stranger@example.net")
            let content = Content(title: "T", body: "B", data: nil)
            let failure = try #require(
                await failure { () async throws(DeliveryFailure) in
                    try await provider.send(request(.email(to: "patient@example.com"), content: content))
                })
            #expect(failure.kind == .transient)
            #expect(failure.errorClass == "configuration")
            #expect(failure.answer == "HTTP 400 MessageRejected (not verified)")
            #expect(try await moto.records(service: "ses", model: "Message").isEmpty)
        }
    }

    @Test func snsPublishesTheTextToTheNumber() async throws {
        try await withMoto { moto, transport in
            let provider = sns(transport, endpoint: moto.endpoint, senderID: "Reminders")
            let content = Content(title: "Zahnarzt 🦷", body: "Morgen um 9:30 & pünktlich", data: nil)
            let receipt = try await provider.send(request(.sms(to: "+4915112345678"), content: content))
            #expect(receipt.answer == "HTTP 200")
            let messageID = try #require(receipt.providerMessageID)
            let messages = try await moto.records(service: "sns", model: "SMS")
            let recorded = try #require(messages.first { $0["message_id"] as? String == messageID })
            #expect(recorded["phone_number"] as? String == "+4915112345678")
            #expect(recorded["message"] as? String == "Zahnarzt 🦷\nMorgen um 9:30 & pünktlich")
        }
    }

    @Test func snsRefusesANumberNotInE164FormPermanently() async throws {
        try await withMoto { moto, transport in
            let provider = sns(transport, endpoint: moto.endpoint)
            let content = Content(title: "T", body: "B", data: nil)
            let failure = try #require(
                await failure { () async throws(DeliveryFailure) in
                    try await provider.send(request(.sms(to: "0151 1234"), content: content))
                })
            #expect(failure.kind == .permanent)
            #expect(failure.errorClass == "invalid_parameter")
            #expect(!failure.concernsRecipient)
            #expect(failure.answer == "HTTP 400 InvalidParameter")
            #expect(try await moto.records(service: "sns", model: "SMS").isEmpty)
        }
    }

    // MARK: provider sink

    /// The request as received, signed again with the same inputs: the signature the
    /// provider sent must cover exactly what arrived (Host included).
    func expectValidSignature(_ received: ProviderSink.Request, service: String) throws {
        let authorization = try #require(received.headers["authorization"])
        let prefix = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"
        #expect(authorization.hasPrefix(prefix))
        #expect(
            authorization.contains(
                "/\(Self.region)/\(service)/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature="))
        let amzDate = try #require(received.headers["x-amz-date"])
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let date = try #require(formatter.date(from: amzDate))
        let signer = SigV4Signer(credentials: Self.credentials, region: Self.region, service: service)
        let again = signer.sign(
            SigV4Signer.Request(
                method: received.method, path: received.path,
                headers: [
                    ("Host", try #require(received.headers["host"])),
                    ("Content-Type", try #require(received.headers["content-type"])),
                ],
                body: received.body),
            date: date)
        #expect(again.authorization == authorization)
    }

    @Test func sesSendsASignedSendEmailWithBothPartsAndListUnsubscribe() async throws {
        try await withSink { sink, transport in
            try await sink.script(SESProvider.path, [.status(200, body: #"{"MessageId":"ses-id-1"}"#)])
            let provider = SESProvider(
                transport: transport,
                configuration: .init(
                    credentials: Self.credentials, region: Self.region, endpoint: sink.baseURL,
                    from: SMTPMailbox(address: Self.sender, displayName: "Praxis Müller"),
                    configurationSet: "tracking"),
                logger: Self.logger)
            let content = Content(
                title: "Zahnarzt", body: "Morgen um 9:30", data: nil, html: "<p>Morgen</p>",
                unsubscribeURL: "https://example.org/u/1")
            let receipt = try await provider.send(request(.email(to: "patient@example.com"), content: content))
            #expect(receipt.providerMessageID == "ses-id-1")
            let received = try #require(try await sink.requests(path: SESProvider.path).first)
            #expect(received.method == "POST")
            #expect(received.headers["content-type"] == "application/json")
            try expectValidSignature(received, service: "ses")
            let json = try #require(received.json)
            #expect(json["FromEmailAddress"] as? String == "=?UTF-8?B?UHJheGlzIE3DvGxsZXI=?= <reminders@example.org>")
            #expect(json["ConfigurationSetName"] as? String == "tracking")
            #expect((json["Destination"] as? [String: Any])?["ToAddresses"] as? [String] == ["patient@example.com"])
            let simple = try #require((json["Content"] as? [String: Any])?["Simple"] as? [String: Any])
            #expect((simple["Subject"] as? [String: Any])?["Data"] as? String == "Zahnarzt")
            let body = try #require(simple["Body"] as? [String: Any])
            #expect((body["Text"] as? [String: Any])?["Data"] as? String == "Morgen um 9:30")
            #expect((body["Html"] as? [String: Any])?["Data"] as? String == "<p>Morgen</p>")
            let headers = try #require(simple["Headers"] as? [[String: String]])
            #expect(headers == [["Name": "List-Unsubscribe", "Value": "<https://example.org/u/1>"]])
        }
    }

    @Test func sesAnswersAreClassified() async throws {
        try await withSink { sink, transport in
            let json = ["Content-Type": "application/json"]
            try await sink.script(
                SESProvider.path,
                [
                    .status(
                        429, body: #"{"message":"Maximum sending rate exceeded."}"#,
                        headers: json.merging(["Retry-After": "7", "x-amzn-ErrorType": "TooManyRequestsException"]) {
                            $1
                        }),
                    .status(400, body: #"{"__type":"LimitExceededException","message":"quota"}"#, headers: json),
                    .status(503, headers: ["Retry-After": "3"]),
                    .status(
                        403, body: #"{"message":"The security token included in the request is invalid."}"#,
                        headers: json.merging([
                            "x-amzn-ErrorType":
                                "UnrecognizedClientException:http://internal.amazon.com/coral/com.amazon.coral.service/"
                        ]) { $1 }),
                    .status(
                        404, body: #"{"message":"Configuration set <tracking> does not exist."}"#,
                        headers: json.merging(["x-amzn-ErrorType": "NotFoundException"]) { $1 }),
                    .status(
                        400, body: #"{"message":"Email address is not verified: patient@example.com"}"#,
                        headers: json.merging(["x-amzn-ErrorType": "MessageRejected"]) { $1 }),
                    .status(
                        400,
                        body: #"{"__type":"BadRequestException","message":"Illegal address patient@@example.com"}"#,
                        headers: json),
                ])
            let provider = ses(transport, endpoint: sink.baseURL)
            let content = Content(title: "T", body: "B", data: nil)
            var failures: [DeliveryFailure] = []
            for _ in 0..<7 {
                failures.append(
                    try #require(
                        await failure { () async throws(DeliveryFailure) in
                            try await provider.send(request(.email(to: "patient@example.com"), content: content))
                        }))
            }
            #expect(failures[0] == .transient("http_429", "HTTP 429 TooManyRequestsException", retryAfter: .seconds(7)))
            #expect(failures[0].isRateLimited)
            #expect(failures[1] == .transient("throttled", "HTTP 400 LimitExceededException"))
            #expect(failures[1].isRateLimited)
            #expect(failures[2] == .transient("http_503", "HTTP 503", retryAfter: .seconds(3)))
            #expect(failures[3] == .transient("auth", "HTTP 403 UnrecognizedClientException"))
            #expect(failures[4] == .transient("configuration", "HTTP 404 NotFoundException"))
            #expect(failures[5] == .transient("configuration", "HTTP 400 MessageRejected (not verified)"))
            #expect(failures[6] == .permanent("bad_request", "HTTP 400 BadRequestException"))
            // No answer quotes the address SES's message named.
            #expect(failures.allSatisfy { !$0.answer.contains("example.com") && !$0.answer.contains("tracking") })
        }
    }

    @Test func snsSendsASignedPublishWithTheSMSTypeAndSenderID() async throws {
        try await withSink { sink, transport in
            try await sink.script(
                "/",
                [
                    .status(
                        200,
                        body:
                            "<PublishResponse><PublishResult><MessageId>sns-id-1</MessageId></PublishResult></PublishResponse>",
                        headers: ["Content-Type": "text/xml"])
                ])
            let provider = sns(transport, endpoint: sink.baseURL, senderID: "Praxis")
            let content = Content(title: "Zahnarzt", body: "9:30 & pünktlich", data: nil)
            let receipt = try await provider.send(request(.sms(to: "+4915112345678"), content: content))
            #expect(receipt.providerMessageID == "sns-id-1")
            let received = try #require(try await sink.requests(path: "/").first)
            #expect(received.headers["content-type"] == "application/x-www-form-urlencoded; charset=utf-8")
            try expectValidSignature(received, service: "sns")
            var form: [String: String] = [:]
            for pair in received.bodyText.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map {
                    String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
                }
                form[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
            #expect(form["Action"] == "Publish")
            #expect(form["Version"] == "2010-03-31")
            #expect(form["PhoneNumber"] == "+4915112345678")
            #expect(form["Message"] == "Zahnarzt\n9:30 & pünktlich")
            #expect(form["MessageAttributes.entry.1.Name"] == "AWS.SNS.SMS.SMSType")
            #expect(form["MessageAttributes.entry.1.Value.DataType"] == "String")
            #expect(form["MessageAttributes.entry.1.Value.StringValue"] == "Transactional")
            #expect(form["MessageAttributes.entry.2.Name"] == "AWS.SNS.SMS.SenderID")
            #expect(form["MessageAttributes.entry.2.Value.StringValue"] == "Praxis")
        }
    }

    @Test func snsAnswersAreClassified() async throws {
        func error(_ type: String, _ code: String, _ message: String) -> String {
            "<ErrorResponse><Error><Type>\(type)</Type><Code>\(code)</Code><Message>\(message)</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        }
        try await withSink { sink, transport in
            let xml = ["Content-Type": "text/xml"]
            try await sink.script(
                "/",
                [
                    .status(
                        429, body: error("Sender", "Throttling", "Rate exceeded"),
                        headers: xml.merging(["Retry-After": "5"]) { $1 }),
                    .status(400, body: error("Sender", "Throttled", "Rate exceeded"), headers: xml),
                    .status(500, body: error("Receiver", "InternalError", "oops"), headers: xml),
                    .status(
                        403, body: error("Sender", "SignatureDoesNotMatch", "The request signature..."), headers: xml),
                    .status(
                        403, body: error("Sender", "AuthorizationError", "not authorized to publish to +4915112345678"),
                        headers: xml),
                    .status(
                        400, body: error("Sender", "InvalidParameter", "Invalid parameter: PhoneNumber +4915112345678"),
                        headers: xml),
                ])
            let provider = sns(transport, endpoint: sink.baseURL)
            let content = Content(title: "T", body: "B", data: nil)
            var failures: [DeliveryFailure] = []
            for _ in 0..<6 {
                failures.append(
                    try #require(
                        await failure { () async throws(DeliveryFailure) in
                            try await provider.send(request(.sms(to: "+4915112345678"), content: content))
                        }))
            }
            #expect(failures[0] == .transient("http_429", "HTTP 429 Throttling", retryAfter: .seconds(5)))
            #expect(failures[1] == .transient("throttled", "HTTP 400 Throttled"))
            #expect(failures[1].isRateLimited)
            #expect(failures[2] == .transient("http_500", "HTTP 500 InternalError"))
            #expect(failures[3] == .transient("auth", "HTTP 403 SignatureDoesNotMatch"))
            #expect(failures[4] == .transient("auth", "HTTP 403 AuthorizationError"))
            #expect(failures[5] == .permanent("invalid_parameter", "HTTP 400 InvalidParameter"))
            #expect(failures.allSatisfy { !$0.answer.contains("4915112345678") })
        }
    }
}
