import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ReminderCore

/// Email through SendGrid's v3 Mail Send API: a JSON POST to `<base>/v3/mail/send` with
/// `Authorization: Bearer <key>`, the text body (and the HTML one after it, when the
/// reminder has one), `List-Unsubscribe` headers, and the reminder id as the custom
/// argument `reminder_id`.
///
/// 202 (any 2xx) is accepted, `X-Message-Id` the provider's message id. 429 and 5xx are
/// transient, with `Retry-After` or else 429's `X-RateLimit-Reset` honoured; 401 and 403
/// transient `auth` and 404 transient (a key, sender identity or base URL for the
/// operator to fix: the reminder waits rather than being dead-lettered for it); 400 about
/// the recipient permanent `invalid_recipient`, any other 400 permanent
/// `invalid_request`; 413 and other 4xx permanent. SendGrid's error messages may repeat
/// the address, so failures name the status and the fields at fault only.
///
/// SendGrid has no idempotency key: a send whose answer is lost (a timeout after SendGrid
/// took it) is sent again on retry and may arrive twice. `custom_args.reminder_id` shows
/// such duplicates in SendGrid's activity and event webhooks.
public struct SendGridProvider: NotificationProvider {
    public struct Configuration: Sendable, CustomStringConvertible {
        public var baseURL: String
        /// Secret: never logged or shown (`description` leaves it out).
        public var apiKey: String
        /// The sender address, a verified sender identity in SendGrid.
        public var fromAddress: String
        /// Shown by mail programs instead of the address.
        public var fromName: String?

        public init(
            baseURL: String = "https://api.sendgrid.com", apiKey: String, fromAddress: String, fromName: String? = nil
        ) {
            self.baseURL = baseURL
            self.apiKey = apiKey
            self.fromAddress = fromAddress
            self.fromName = fromName
        }

        public var description: String {
            "SendGrid(base: \(baseURL), from: \(fromAddress), key: <hidden>)"
        }

        /// Why `address` cannot be the sender, nil when it can (`local@domain`, no space,
        /// angle bracket or control character).
        public static func problem(withSender address: String) -> String? {
            SMTPMailbox.problem(withAddress: address, role: "sender")?.answer
        }

        /// Why `name` cannot be the sender's name, nil when it can.
        public static func problem(withSenderName name: String) -> String? {
            SMTPHeaderText.isClean(name) ? nil : "contains a control character"
        }

        /// Why `key` cannot be sent in a header, nil when it can; never repeats the key.
        public static func problem(withAPIKey key: String) -> String? {
            key.utf8.allSatisfy { (0x21...0x7E).contains($0) }
                ? nil : "must be printable ASCII without spaces (the value is not shown)"
        }
    }

    public let name = "sendgrid"
    private let transport: HTTPTransport
    private let configuration: Configuration
    private let logger: Logger
    private let clock: @Sendable () -> Date

    /// `clock` reads `X-RateLimit-Reset` (a fixed one in tests).
    public init(
        transport: HTTPTransport, configuration: Configuration, logger: Logger,
        clock: @escaping @Sendable () -> Date = Date.init
    ) {
        self.transport = transport
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
    }

    public func send(_ request: DeliveryRequest) async throws(DeliveryFailure) -> DeliveryReceipt {
        guard case .email(let recipient) = request.channel else {
            throw .permanent(
                "invalid_request", "the sendgrid provider sends \(request.channel.type) reminders only by email")
        }
        // SendGrid would put it into the header as it is.
        if let url = request.content.unsubscribeURL, !SMTPHeaderText.fitsAngleBrackets(url) {
            throw .permanent("invalid_header", "the unsubscribe URL holds a character a header cannot")
        }
        var httpRequest = HTTPClientRequest(url: HTTPTransport.join(configuration.baseURL, "/v3/mail/send"))
        httpRequest.method = .POST
        httpRequest.headers.add(name: "Authorization", value: "Bearer \(configuration.apiKey)")
        httpRequest.headers.add(name: "Content-Type", value: "application/json")
        httpRequest.headers.add(name: "User-Agent", value: "notification-service")
        httpRequest.body = .bytes(
            ByteBuffer(string: Self.body(for: request, to: recipient, configuration: configuration)))
        let answer = try await transport.perform(httpRequest, logger: logger)
        let failure = Self.failure(for: answer, now: clock())
        if let failure { throw failure }
        return DeliveryReceipt(
            answer: "HTTP \(answer.status)",
            providerMessageID: Self.messageID(answer.headers.first(name: "X-Message-Id")))
    }

    /// The Mail Send body. SendGrid refuses an empty content value, so a reminder without
    /// a body sends its title as the text.
    static func body(for request: DeliveryRequest, to recipient: String, configuration: Configuration) -> String {
        let content = request.content
        var from: [(key: String, value: JSONValue)] = [("email", .string(configuration.fromAddress))]
        if let name = configuration.fromName { from.append(("name", .string(name))) }
        var parts: [JSONValue] = [
            .object([
                ("type", .string("text/plain")),
                ("value", .string(content.body.isEmpty ? content.title : content.body)),
            ])
        ]
        if let html = content.html {
            parts.append(.object([("type", .string("text/html")), ("value", .string(html))]))
        }
        var members: [(key: String, value: JSONValue)] = [
            ("personalizations", .array([.object([("to", .array([.object([("email", .string(recipient))])]))])])),
            ("from", .object(from)),
            ("subject", .string(content.title)),
            ("content", .array(parts)),
        ]
        if let url = content.unsubscribeURL {
            var headers: [(key: String, value: JSONValue)] = [("List-Unsubscribe", .string("<\(url)>"))]
            // RFC 8058 one-click: for https only, as in the SMTP provider.
            if url.hasPrefix("https://") {
                headers.append(("List-Unsubscribe-Post", .string("List-Unsubscribe=One-Click")))
            }
            members.append(("headers", .object(headers)))
        }
        members.append(("custom_args", .object([("reminder_id", .string(request.reminderID))])))
        return JSONValue.object(members).serialized
    }

    /// The failure an answer means, nil when SendGrid took the message.
    static func failure(for answer: HTTPTransport.Answer, now: Date) -> DeliveryFailure? {
        switch answer.status {
        case 200..<300:
            return nil
        case 401, 403:
            return .transient("auth", "HTTP \(answer.status)")
        case 404:
            return .transient("http_404", "HTTP 404 (is SENDGRID_BASE_URL right?)")
        case 429:
            var failure = HTTPTransport.failure(for: answer)
            if failure?.retryAfter == nil {
                failure?.retryAfter = rateLimitReset(answer.headers.first(name: "X-RateLimit-Reset"), now: now)
            }
            return failure
        case 400:
            let fields = errorFields(answer.body)
            let detail = fields.isEmpty ? "" : " field " + fields.joined(separator: ",")
            let aboutRecipient = fields.contains { field in
                field.hasPrefix("personalizations") && (field.contains(".to") || field.contains("email"))
            }
            // A refused recipient is refused by every provider: no failover.
            return aboutRecipient
                ? .recipient("invalid_recipient", "HTTP 400" + detail)
                : .permanent("invalid_request", "HTTP 400" + detail)
        default:
            return HTTPTransport.failure(for: answer) ?? .transient("http_\(answer.status)", "HTTP \(answer.status)")
        }
    }

    /// The `field` of each of SendGrid's `{"errors":[{"message","field"}]}`, kept only when
    /// it looks like a field path (`personalizations.0.to.0.email`): the messages, which
    /// may repeat the address, are never read.
    static func errorFields(_ body: [UInt8]) -> [String] {
        guard case .array(let errors)? = (try? JSONParser.parse(body))?["errors"] else { return [] }
        var fields: [String] = []
        for error in errors.prefix(5) {
            guard case .string(let field)? = error["field"], (1...64).contains(field.utf8.count),
                field.utf8.allSatisfy({ byte in
                    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                        || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                        || [UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-")].contains(byte)
                }), !fields.contains(field)
            else { continue }
            fields.append(field)
        }
        return fields
    }

    /// `X-RateLimit-Reset`: when the limit resets, in seconds since 1970.
    static func rateLimitReset(_ value: String?, now: Date) -> Duration? {
        guard let value, let reset = Int64(value.trimmingCharacters(in: .whitespaces)) else { return nil }
        // A day at most: a reset years away is a broken header (the retry policy caps
        // the wait further).
        let seconds = min(max(0, Double(reset) - now.timeIntervalSince1970), 86_400)
        return .milliseconds(Int64(seconds * 1_000))
    }

    /// SendGrid's message id, when it is a plausible one (an id, not text to log).
    static func messageID(_ value: String?) -> String? {
        guard let value, (1...128).contains(value.utf8.count), value.utf8.allSatisfy({ (0x21...0x7E).contains($0) })
        else { return nil }
        return value
    }
}
