import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import ReminderCore

/// Push notifications in the shapes of Firebase Cloud Messaging's HTTP v1
/// `messages:send` and Apple's APNs HTTP/2 API, at configurable base URLs. A token the
/// service reports as unknown (unregistered, bad device token) is a permanent failure, and the recipient's;
/// a refused credential is transient (an operator fixes it; the reminder waits).
public struct PushProvider: NotificationProvider {
    public struct FCMConfiguration: Sendable, CustomStringConvertible {
        /// How requests are authorised: a fixed access token (development: it expires
        /// after an hour), or a service account's key, exchanged for access tokens that
        /// are renewed before they expire and once when FCM refuses one (401).
        public enum Authentication: Sendable, CustomStringConvertible {
            case accessToken(String)
            case serviceAccount(GoogleServiceAccount)

            public var description: String {
                switch self {
                case .accessToken: "static access token (redacted)"
                case .serviceAccount(let account): "\(account)"
                }
            }
        }

        public var baseURL: String
        public var projectID: String
        public var authentication: Authentication

        public init(baseURL: String = "https://fcm.googleapis.com", projectID: String, authentication: Authentication) {
            self.baseURL = baseURL
            self.projectID = projectID
            self.authentication = authentication
        }

        /// A fixed OAuth 2 access token for the project (kept fresh by the deployment).
        public init(baseURL: String = "https://fcm.googleapis.com", projectID: String, accessToken: String) {
            self.init(baseURL: baseURL, projectID: projectID, authentication: .accessToken(accessToken))
        }

        public var description: String { "FCM project \(projectID) at \(baseURL), \(authentication)" }
    }

    public struct APNsConfiguration: Sendable, CustomStringConvertible {
        /// How requests are authorised: a fixed provider token (development: APNs refuses
        /// it after an hour), or a .p8 signing key whose provider tokens are renewed every
        /// 40 minutes and once when APNs answers `ExpiredProviderToken`.
        public enum Authentication: Sendable, CustomStringConvertible {
            case providerToken(String)
            case signingKey(APNsSigningKey)

            public var description: String {
                switch self {
                case .providerToken: "static provider token (redacted)"
                case .signingKey(let key): "\(key)"
                }
            }
        }

        public var baseURL: String
        /// The app's bundle id (`apns-topic`).
        public var topic: String
        public var authentication: Authentication

        public init(baseURL: String = "https://api.push.apple.com", topic: String, authentication: Authentication) {
            self.baseURL = baseURL
            self.topic = topic
            self.authentication = authentication
        }

        /// A fixed provider authentication token (JWT) (kept fresh by the deployment).
        public init(baseURL: String = "https://api.push.apple.com", topic: String, authenticationToken: String) {
            self.init(baseURL: baseURL, topic: topic, authentication: .providerToken(authenticationToken))
        }

        public var description: String { "APNs topic \(topic) at \(baseURL), \(authentication)" }
    }

    public enum Service: Sendable {
        case fcm(FCMConfiguration)
        case apns(APNsConfiguration)
    }

    public var name: String {
        switch service {
        case .fcm: "fcm"
        case .apns: "apns"
        }
    }

    private let transport: HTTPTransport
    private let service: Service
    private let logger: Logger
    /// Shared by the copies of this provider, so that they share one cached token and
    /// one renewal in flight.
    private let credential: any BearerCredential

    /// `now`: the wall clock the signed tokens are dated by (tests pass their own).
    public init(
        transport: HTTPTransport, service: Service, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.transport = transport
        self.service = service
        self.logger = logger
        switch service {
        case .fcm(let configuration):
            switch configuration.authentication {
            case .accessToken(let token):
                credential = StaticBearerCredential(token)
            case .serviceAccount(let account):
                credential = RenewingCredential(
                    issuer: GoogleAccessTokenIssuer(account: account, transport: transport, logger: logger),
                    logger: logger, now: now)
            }
        case .apns(let configuration):
            switch configuration.authentication {
            case .providerToken(let token):
                credential = StaticBearerCredential(token)
            case .signingKey(let key):
                credential = RenewingCredential(issuer: APNsProviderTokenIssuer(key: key), logger: logger, now: now)
            }
        }
    }

    public func send(_ request: DeliveryRequest) async throws(DeliveryFailure) -> DeliveryReceipt {
        guard case .push(let platform, let token) = request.channel else {
            throw .permanent("wrong_channel", "the push provider got a \(request.channel.type) channel")
        }
        switch (service, platform) {
        case (.fcm(let configuration), .fcm):
            return try await sendFCM(request, device: token, configuration: configuration)
        case (.apns(let configuration), .apns):
            return try await sendAPNs(request, device: token, configuration: configuration)
        default:
            throw .permanent("wrong_channel", "the \(name) provider got a \(platform.rawValue) token")
        }
    }

    private func sendFCM(_ request: DeliveryRequest, device: String, configuration: FCMConfiguration)
        async throws(DeliveryFailure) -> DeliveryReceipt
    {
        let path = "/v1/projects/\(HTTPTransport.pathSegment(configuration.projectID))/messages:send"
        let body = Self.fcmBody(request, token: device)
        func post(bearer: String) async throws(DeliveryFailure) -> HTTPTransport.Answer {
            var httpRequest = HTTPClientRequest(url: HTTPTransport.join(configuration.baseURL, path))
            httpRequest.method = .POST
            httpRequest.headers.add(name: "Authorization", value: "Bearer \(bearer)")
            httpRequest.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
            httpRequest.body = .bytes(ByteBuffer(string: body))
            return try await transport.perform(httpRequest, logger: logger)
        }
        let bearer = try await credential.token()
        var answer = try await post(bearer: bearer)
        // 401: the access token expired or was revoked. One renewal and one more try;
        // a second 401 is an authorisation problem that waiting will not fix by itself.
        if answer.status == 401, let renewed = try await credential.renew(after: bearer) {
            answer = try await post(bearer: renewed)
        }
        if (200..<300).contains(answer.status) {
            return DeliveryReceipt(answer: "HTTP \(answer.status)", providerMessageID: Self.fcmMessageName(answer.body))
        }
        // FCM names the error in `error.details[].errorCode` (v1) or `error.status`.
        let code = Self.fcmErrorCode(answer.body)
        switch (answer.status, code) {
        case (404, _), (_, "UNREGISTERED"):
            throw .recipient("unregistered", "HTTP \(answer.status) \(code ?? "")")
        case (401, _), (403, "THIRD_PARTY_AUTH_ERROR"):
            throw .transient("auth", "HTTP \(answer.status) \(code ?? "")")
        case (403, _), (400, _):
            throw .permanent(
                code.map { $0.lowercased() } ?? "http_\(answer.status)", "HTTP \(answer.status) \(code ?? "")")
        default:
            throw HTTPTransport.failure(for: answer, errorClass: code?.lowercased())
                ?? .transient("http_\(answer.status)", "HTTP \(answer.status)")
        }
    }

    private func sendAPNs(_ request: DeliveryRequest, device: String, configuration: APNsConfiguration)
        async throws(DeliveryFailure) -> DeliveryReceipt
    {
        let url = HTTPTransport.join(configuration.baseURL, "/3/device/\(HTTPTransport.pathSegment(device))")
        let body = Self.apnsBody(request)
        func post(bearer: String) async throws(DeliveryFailure) -> HTTPTransport.Answer {
            var httpRequest = HTTPClientRequest(url: url)
            httpRequest.method = .POST
            httpRequest.headers.add(name: "authorization", value: "bearer \(bearer)")
            httpRequest.headers.add(name: "apns-topic", value: configuration.topic)
            httpRequest.headers.add(name: "apns-push-type", value: "alert")
            // APNs deduplicates nothing, but echoes `apns-id`: one per reminder, for tracing.
            httpRequest.headers.add(name: "apns-id", value: Self.apnsID(reminderID: request.idempotencyKey))
            httpRequest.headers.add(name: "content-type", value: "application/json")
            httpRequest.body = .bytes(ByteBuffer(string: body))
            return try await transport.perform(httpRequest, logger: logger)
        }
        let bearer = try await credential.token()
        var answer = try await post(bearer: bearer)
        var reason = answer.status == 200 ? nil : Self.apnsReason(answer.body)
        // The token is older than APNs allows: one renewal and one more try. Any other
        // 403 (InvalidProviderToken: wrong key, key id or team) is not retried here.
        if answer.status == 403, reason == "ExpiredProviderToken",
            let renewed = try await credential.renew(after: bearer)
        {
            answer = try await post(bearer: renewed)
            reason = answer.status == 200 ? nil : Self.apnsReason(answer.body)
        }
        if answer.status == 200 {
            return DeliveryReceipt(answer: "HTTP 200", providerMessageID: answer.headers.first(name: "apns-id"))
        }
        switch (answer.status, reason) {
        case (410, _), (400, "BadDeviceToken"), (400, "DeviceTokenNotForTopic"):
            throw .recipient("unregistered", "HTTP \(answer.status) \(reason ?? "")")
        case (403, _):
            throw .transient("auth", "HTTP 403 \(reason ?? "")")
        default:
            throw HTTPTransport.failure(for: answer, errorClass: reason.map { "apns_" + $0.lowercased() })
                ?? .transient("http_\(answer.status)", "HTTP \(answer.status)")
        }
    }

    // MARK: Request and answer shapes

    static func fcmBody(_ request: DeliveryRequest, token: String) -> String {
        var message: [(key: String, value: JSONValue)] = [
            ("token", .string(token)),
            (
                "notification",
                .object([("title", .string(request.content.title)), ("body", .string(request.content.body))])
            ),
        ]
        // FCM's `data` is a map of strings: string members go as they are, others as JSON.
        var data: [(key: String, value: JSONValue)] = [("reminder_id", .string(request.reminderID))]
        if let text = request.content.data, case .object(let members)? = try? JSONParser.parse(Array(text.utf8)) {
            for member in members where member.key != "reminder_id" {
                if case .string(let value) = member.value {
                    data.append((member.key, .string(value)))
                } else {
                    data.append((member.key, .string(member.value.serialized)))
                }
            }
        }
        message.append(("data", .object(data)))
        return JSONValue.object([("message", .object(message))]).serialized
    }

    static func apnsBody(_ request: DeliveryRequest) -> String {
        let alert = JSONValue.object([
            ("title", .string(request.content.title)), ("body", .string(request.content.body)),
        ])
        var text = JSONValue.object([
            ("aps", .object([("alert", alert)])), ("reminder_id", .string(request.reminderID)),
        ])
        .serialized
        if let data = request.content.data {
            text.removeLast()
            text += #","data":"# + data + "}"
        }
        return text
    }

    /// A UUID derived from the reminder id (SHA-256, version and variant bits set), so
    /// that every send of one reminder carries the same `apns-id`.
    static func apnsID(reminderID: String) -> String {
        var bytes = Array(SHA256.hash(data: Array(reminderID.utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0f) | 0x80
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        let hex = HexEncoding.string(bytes)
        let parts = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { range in
            String(
                hex[
                    hex.index(
                        hex.startIndex, offsetBy: range.lowerBound)..<hex.index(
                            hex.startIndex, offsetBy: range.upperBound)])
        }
        return parts.joined(separator: "-").uppercased()
    }

    static func fcmMessageName(_ body: [UInt8]) -> String? {
        guard case .string(let name)? = (try? JSONParser.parse(body))?["name"] else { return nil }
        return name
    }

    static func fcmErrorCode(_ body: [UInt8]) -> String? {
        guard let error = (try? JSONParser.parse(body))?["error"] else { return nil }
        if case .array(let details)? = error["details"] {
            for detail in details {
                if case .string(let code)? = detail["errorCode"] { return code }
            }
        }
        if case .string(let status)? = error["status"] { return status }
        return nil
    }

    static func apnsReason(_ body: [UInt8]) -> String? {
        guard case .string(let reason)? = (try? JSONParser.parse(body))?["reason"] else { return nil }
        return reason
    }
}
