import Foundation
import Logging
import ReminderCore

/// Email through Amazon SES v2 `SendEmail`: a SigV4-signed (`ses`) JSON POST to
/// `<endpoint>/v2/email/outbound-emails` with `Content.Simple`: the subject, the text
/// body, the HTML body when the reminder has one (SES builds the multipart/alternative
/// message), and `List-Unsubscribe: <url>` in `Simple.Headers` when it has an
/// unsubscribe URL. Simple content keeps MIME building on SES's side; the raw form
/// would only be needed for headers SES does not take.
///
/// SES has no idempotency key: a send repeated after a crash between SES's acceptance
/// and the dispatcher's record is a second email.
///
/// 2xx accepted (`MessageId` is the provider's message id). Transient: 429 and the
/// throttling errors (`TooManyRequestsException`, `LimitExceededException`), as
/// `throttled` or `http_429`, which do not count against the circuit; 5xx; refused
/// credentials (401, 403, signature and access errors) as `auth`; paused or suspended
/// sending as `account`; an unknown configuration set (`NotFoundException`), an
/// unverified MAIL FROM domain and a `MessageRejected` for an identity that is not
/// verified (a wrong `SES_FROM`, or a recipient while the account is in the sandbox) as
/// `configuration`. Those are the operator's to fix, so the reminder waits (or goes to
/// the next provider) rather than being dead-lettered. Permanent: any other
/// `MessageRejected` (content SES refuses) and any other 4xx (`BadRequestException`). The answer
/// names the HTTP status and the error type only: SES's messages may quote addresses.
public struct SESProvider: NotificationProvider {
    public struct Configuration: Sendable {
        public var credentials: AWSCredentials
        public var region: String
        /// `https://email.<region>.amazonaws.com` unless overridden (tests, VPC endpoints).
        public var endpoint: String
        /// The sender: a verified address or an address of a verified domain.
        public var from: SMTPMailbox
        /// `ConfigurationSetName`, for SES's event publishing and suppression settings.
        public var configurationSet: String?

        public init(
            credentials: AWSCredentials, region: String, endpoint: String? = nil, from: SMTPMailbox,
            configurationSet: String? = nil
        ) {
            self.credentials = credentials
            self.region = region
            self.endpoint = endpoint ?? "https://email.\(region).amazonaws.com"
            self.from = from
            self.configurationSet = configurationSet
        }
    }

    public static let path = "/v2/email/outbound-emails"

    public let name = "ses"
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
            signingName: "ses", endpoint: configuration.endpoint, logger: logger, now: now)
    }

    public func send(_ request: DeliveryRequest) async throws(DeliveryFailure) -> DeliveryReceipt {
        guard case .email(let address) = request.channel else {
            throw .permanent("wrong_channel", "the SES provider got a \(request.channel.type) channel")
        }
        if let problem = SMTPMailbox.problem(withAddress: address, role: "recipient") { throw problem }
        let body = try Self.body(for: request.content, to: address, configuration: configuration)
        let answer = try await client.post(path: Self.path, contentType: "application/json", body: body)
        if (200..<300).contains(answer.status) {
            var messageID: String?
            if case .string(let id)? = (try? JSONParser.parse(answer.body))?["MessageId"] { messageID = id }
            return DeliveryReceipt(answer: "HTTP \(answer.status)", providerMessageID: messageID)
        }
        throw Self.failure(for: answer)
    }

    /// The `SendEmail` request body.
    static func body(
        for content: Content, to address: String, configuration: Configuration
    ) throws(DeliveryFailure) -> [UInt8] {
        // SES's member names are capitalised: each type maps its own.
        struct Text: Encodable {
            let data: String
            let charset = "UTF-8"
            enum CodingKeys: String, CodingKey { case data = "Data", charset = "Charset" }
        }
        struct Body: Encodable {
            let text: Text?
            let html: Text?
            enum CodingKeys: String, CodingKey { case text = "Text", html = "Html" }
        }
        struct Header: Encodable {
            let name: String
            let value: String
            enum CodingKeys: String, CodingKey { case name = "Name", value = "Value" }
        }
        struct Simple: Encodable {
            let subject: Text
            let body: Body
            let headers: [Header]?
            enum CodingKeys: String, CodingKey { case subject = "Subject", body = "Body", headers = "Headers" }
        }
        struct EmailContent: Encodable {
            let simple: Simple
            enum CodingKeys: String, CodingKey { case simple = "Simple" }
        }
        struct Destination: Encodable {
            let toAddresses: [String]
            enum CodingKeys: String, CodingKey { case toAddresses = "ToAddresses" }
        }
        struct SendEmail: Encodable {
            let fromEmailAddress: String
            let destination: Destination
            let content: EmailContent
            let configurationSetName: String?
            enum CodingKeys: String, CodingKey {
                case fromEmailAddress = "FromEmailAddress", destination = "Destination", content = "Content"
                case configurationSetName = "ConfigurationSetName"
            }
        }

        guard SMTPHeaderText.isClean(content.title) else {
            throw .permanent("invalid_header", "the subject contains a control character")
        }
        var headers: [Header] = []
        if let url = content.unsubscribeURL {
            guard SMTPHeaderText.isClean(url), !url.contains(">") else {
                throw .permanent("invalid_header", "the unsubscribe URL contains a control character or '>'")
            }
            headers.append(Header(name: "List-Unsubscribe", value: "<\(url)>"))
        }
        let html = content.html.flatMap { $0.isEmpty ? nil : Text(data: $0) }
        // SES needs a text or an HTML part: a reminder with neither gets its title.
        let text = content.body.isEmpty && html == nil ? content.title : content.body
        let message = SendEmail(
            fromEmailAddress: sender(configuration.from),
            destination: Destination(toAddresses: [address]),
            content: EmailContent(
                simple: Simple(
                    subject: Text(data: content.title),
                    body: Body(text: text.isEmpty ? nil : Text(data: text), html: html),
                    headers: headers.isEmpty ? nil : headers)),
            configurationSetName: configuration.configurationSet)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(message))
        } catch {
            throw .permanent("invalid_request", "the request could not be encoded")
        }
    }

    /// `FromEmailAddress`: the address, or `"Name" <address>` with a non-ASCII name as
    /// RFC 2047 encoded-words, as SES requires.
    static func sender(_ mailbox: SMTPMailbox) -> String {
        guard let name = mailbox.displayName, !name.isEmpty else { return mailbox.address }
        let phrase =
            SMTPHeaderText.needsEncoding(name)
            ? SMTPHeaderText.encodedWords(name).joined(separator: " ")
            : "\"" + name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                + "\""
        return "\(phrase) <\(mailbox.address)>"
    }

    /// Whether the error's message says an identity is not verified.
    static func messageSaysNotVerified(_ answer: HTTPTransport.Answer) -> Bool {
        guard let document = try? JSONParser.parse(answer.body) else { return false }
        for key in ["message", "Message"] {
            if case .string(let message)? = document[key] { return message.lowercased().contains("not verified") }
        }
        return false
    }

    /// The error type SES names: the `x-amzn-ErrorType` header, else the body's
    /// `__type` or `code`.
    static func errorCode(_ answer: HTTPTransport.Answer) -> String? {
        if let header = AWSService.safeCode(answer.headers.first(name: "x-amzn-ErrorType").map { Substring($0) }) {
            return header
        }
        guard let document = try? JSONParser.parse(answer.body) else { return nil }
        for key in ["__type", "code", "Code"] {
            if case .string(let value)? = document[key], let code = AWSService.safeCode(Substring(value)) {
                return code
            }
        }
        return nil
    }

    static func failure(for answer: HTTPTransport.Answer) -> DeliveryFailure {
        let code = errorCode(answer)
        let text = "HTTP \(answer.status)" + (code.map { " \($0)" } ?? "")
        let retryAfter = HTTPTransport.retryAfter(answer.headers.first(name: "Retry-After"))
        switch code {
        case let code? where AWSService.throttlingErrorCodes.contains(code) && answer.status != 429:
            return .transient("throttled", text, retryAfter: retryAfter)
        case let code? where AWSService.authErrorCodes.contains(code):
            return .transient("auth", text)
        case "SendingPausedException", "AccountSuspendedException":
            return .transient("account", text)
        case "NotFoundException":
            return .transient("configuration", text)
        case "MessageRejected", "MessageRejectedException":
            // SES says "not verified" of the sender (a wrong SES_FROM) and, while the
            // account is in the sandbox, of the recipient: either is the operator's to fix.
            // The message is read for that and never recorded (it names the address).
            if messageSaysNotVerified(answer) { return .transient("configuration", text + " (not verified)") }
            return .permanent("message_rejected", text)
        case "MailFromDomainNotVerifiedException", "MailFromDomainNotVerified":
            return .transient("configuration", text)
        default:
            break
        }
        if answer.status == 401 || answer.status == 403 { return .transient("auth", text) }
        var failure = HTTPTransport.failure(for: answer) ?? .transient("http_\(answer.status)", text)
        failure.answer = text
        if failure.kind == .permanent, code == "BadRequestException" { failure.errorClass = "bad_request" }
        return failure
    }
}
