import Foundation
import Logging
import ReminderCore

/// Text messages through Amazon SNS `Publish` to a phone number: a SigV4-signed (`sns`)
/// form POST to `<endpoint>/` (query protocol, version 2010-03-31) with the SMS type
/// `Transactional` (delivery is favoured over cost, as reminders need), and the sender
/// id and origination number when configured. The text is the title and the body on
/// two lines, as the Twilio-style provider sends it. SNS has no idempotency key.
///
/// 2xx accepted (the answer's `MessageId`). Transient: 429 and throttling codes
/// (`Throttled`, `Throttling`: `throttled`, not counted against the circuit), 5xx, and
/// refused credentials or permissions (401, 403, `AuthorizationError`, signature errors)
/// as `auth`, the operator's to fix. Permanent: `InvalidParameter` and
/// `InvalidParameterValue` (for Publish to a number: the number or the text is
/// unusable), opted-out numbers, and any other 4xx. The answer names the HTTP status and
/// the error code only: SNS's messages may quote the number.
public struct SNSProvider: NotificationProvider {
    public struct Configuration: Sendable {
        public var credentials: AWSCredentials
        public var region: String
        /// `https://sns.<region>.amazonaws.com` unless overridden.
        public var endpoint: String
        /// `AWS.SNS.SMS.SenderID`: the alphanumeric sender shown where countries allow it.
        public var senderID: String?
        /// `AWS.MM.SMS.OriginationNumber`: the sending number (E.164) of the account.
        public var originationNumber: String?

        public init(
            credentials: AWSCredentials, region: String, endpoint: String? = nil, senderID: String? = nil,
            originationNumber: String? = nil
        ) {
            self.credentials = credentials
            self.region = region
            self.endpoint = endpoint ?? "https://sns.\(region).amazonaws.com"
            self.senderID = senderID
            self.originationNumber = originationNumber
        }
    }

    public let name = "sns"
    private let configuration: Configuration
    private let client: AWSClient

    /// `now`: the signing time (injected for tests).
    public init(
        transport: HTTPTransport, configuration: Configuration, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        client = AWSClient(
            transport: transport, credentials: configuration.credentials, region: configuration.region,
            signingName: "sns", endpoint: configuration.endpoint, logger: logger, now: now)
    }

    public func send(_ request: DeliveryRequest) async throws(DeliveryFailure) -> DeliveryReceipt {
        guard case .sms(let number) = request.channel else {
            throw .permanent("wrong_channel", "the SNS provider got a \(request.channel.type) channel")
        }
        let form = Self.form(number: number, content: request.content, configuration: configuration)
        let answer = try await client.post(
            path: "/", contentType: "application/x-www-form-urlencoded; charset=utf-8", body: Array(form.utf8))
        let text = String(decoding: answer.body, as: UTF8.self)
        if (200..<300).contains(answer.status) {
            return DeliveryReceipt(
                answer: "HTTP \(answer.status)", providerMessageID: Self.element("MessageId", in: text).map(String.init)
            )
        }
        throw Self.failure(
            status: answer.status, code: AWSService.safeCode(Self.element("Code", in: text)),
            retryAfter: HTTPTransport.retryAfter(answer.headers.first(name: "Retry-After")))
    }

    /// The `Publish` form.
    static func form(number: String, content: Content, configuration: Configuration) -> String {
        var fields = [
            ("Action", "Publish"), ("Version", "2010-03-31"), ("PhoneNumber", number),
            ("Message", content.body.isEmpty ? content.title : "\(content.title)\n\(content.body)"),
        ]
        var attributes = [("AWS.SNS.SMS.SMSType", "Transactional")]
        if let senderID = configuration.senderID { attributes.append(("AWS.SNS.SMS.SenderID", senderID)) }
        if let origination = configuration.originationNumber {
            attributes.append(("AWS.MM.SMS.OriginationNumber", origination))
        }
        for (index, (name, value)) in attributes.enumerated() {
            let entry = "MessageAttributes.entry.\(index + 1)"
            fields += [
                ("\(entry).Name", name), ("\(entry).Value.DataType", "String"), ("\(entry).Value.StringValue", value),
            ]
        }
        return SMSProvider.formEncoded(fields)
    }

    /// The text of the first `<name>…</name>` element, trimmed; nil when there is none.
    static func element(_ name: String, in xml: String) -> Substring? {
        guard let open = xml.range(of: "<\(name)>"),
            let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex)
        else { return nil }
        let value = xml[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
        return value.isEmpty ? nil : Substring(value)
    }

    static func failure(status: Int, code: String?, retryAfter: Duration?) -> DeliveryFailure {
        let text = "HTTP \(status)" + (code.map { " \($0)" } ?? "")
        if status == 429 { return .transient("http_429", text, retryAfter: retryAfter) }
        if let code, AWSService.throttlingErrorCodes.contains(code) {
            return .transient("throttled", text, retryAfter: retryAfter)
        }
        if let code, AWSService.authErrorCodes.contains(code) { return .transient("auth", text) }
        if status == 401 || status == 403 { return .transient("auth", text) }
        if status >= 500 { return .transient("http_\(status)", text, retryAfter: retryAfter) }
        // An invalid parameter may be the number, the sender id or origination number, or
        // the message's length: not surely the recipient's, so another provider is asked.
        // A number that opted out is refused by every sender.
        switch code {
        case "InvalidParameter", "InvalidParameterValue", "ParameterValueInvalid":
            return .permanent("invalid_parameter", text)
        case let code? where code.lowercased().contains("optedout") || code.lowercased().contains("optout"):
            return .recipient("opted_out", text)
        default:
            return status == 408 ? .transient("http_408", text) : .permanent("http_\(status)", text)
        }
    }
}
