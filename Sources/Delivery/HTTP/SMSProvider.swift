import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ReminderCore

/// Text messages through a Twilio-style Messages API: a form-encoded POST to
/// `<base>/2010-04-01/Accounts/<sid>/Messages.json` with basic authentication, the
/// reminder id as `I-Twilio-Idempotency-Token`. 2xx accepted; 401/403/404 transient (a
/// credential or account for the operator to fix); 429 and 5xx transient; other 4xx
/// permanent, and the recipient's when Twilio's error code refuses the number.
public struct SMSProvider: NotificationProvider {
    public struct Configuration: Sendable {
        public var baseURL: String
        public var accountSID: String
        public var authToken: String
        /// The sending number (E.164) or messaging service id (`MG…`).
        public var from: String

        public init(baseURL: String = "https://api.twilio.com", accountSID: String, authToken: String, from: String) {
            self.baseURL = baseURL
            self.accountSID = accountSID
            self.authToken = authToken
            self.from = from
        }
    }

    public let name = "twilio"
    private let transport: HTTPTransport
    private let configuration: Configuration
    private let logger: Logger

    public init(transport: HTTPTransport, configuration: Configuration, logger: Logger) {
        self.transport = transport
        self.configuration = configuration
        self.logger = logger
    }

    public func send(_ request: DeliveryRequest) async throws(DeliveryFailure) -> DeliveryReceipt {
        guard case .sms(let number) = request.channel else {
            throw .permanent("wrong_channel", "the SMS provider got a \(request.channel.type) channel")
        }
        let path = "/2010-04-01/Accounts/\(HTTPTransport.pathSegment(configuration.accountSID))/Messages.json"
        var httpRequest = HTTPClientRequest(url: HTTPTransport.join(configuration.baseURL, path))
        httpRequest.method = .POST
        let credentials = Data("\(configuration.accountSID):\(configuration.authToken)".utf8).base64EncodedString()
        httpRequest.headers.add(name: "Authorization", value: "Basic \(credentials)")
        httpRequest.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        httpRequest.headers.add(name: "I-Twilio-Idempotency-Token", value: request.idempotencyKey)
        let sender = configuration.from.hasPrefix("MG") ? "MessagingServiceSid" : "From"
        let form = Self.formEncoded([
            ("To", number), (sender, configuration.from),
            (
                "Body",
                request.content.body.isEmpty
                    ? request.content.title : "\(request.content.title)\n\(request.content.body)"
            ),
        ])
        httpRequest.body = .bytes(ByteBuffer(string: form))
        let answer = try await transport.perform(httpRequest, logger: logger)
        if (200..<300).contains(answer.status) {
            var messageID: String?
            if case .string(let sid)? = (try? JSONParser.parse(answer.body))?["sid"] { messageID = sid }
            return DeliveryReceipt(answer: "HTTP \(answer.status)", providerMessageID: messageID)
        }
        var code = ""
        var errorCode: String?
        if case .number(let number)? = (try? JSONParser.parse(answer.body))?["code"] {
            errorCode = number
            code = " code \(number)"
        }
        // A refused credential or an unknown account is the operator's to fix: the
        // reminder waits rather than being dead-lettered for it.
        if answer.status == 401 || answer.status == 403 || answer.status == 404 {
            throw .transient("auth", "HTTP \(answer.status)\(code)")
        }
        var failure = HTTPTransport.failure(for: answer) ?? .transient("http_\(answer.status)", "HTTP \(answer.status)")
        failure.answer += code
        if failure.kind == .permanent, let errorCode, Self.recipientErrorCodes.contains(errorCode) {
            failure.concernsRecipient = true
        }
        throw failure
    }

    /// Twilio's error codes that refuse the number itself (invalid, not a mobile number,
    /// unsubscribed): another SMS provider would be refused too. (21612, "not reachable
    /// via SMS", may be the sending number's capability: another provider may reach it.)
    static let recipientErrorCodes: Set<String> = ["21211", "21217", "21610", "21614"]

    /// `application/x-www-form-urlencoded`, spaces as `+`.
    static func formEncoded(_ fields: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(
            CharacterSet(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127)))
        allowed.insert(charactersIn: "-._*")
        return fields.map { name, value in
            let encode = { (text: String) in
                text.split(separator: " ", omittingEmptySubsequences: false).map {
                    String($0).addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
                }.joined(separator: "+")
            }
            return "\(encode(name))=\(encode(value))"
        }.joined(separator: "&")
    }
}
