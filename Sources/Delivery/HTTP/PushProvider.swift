import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import ReminderCore

/// Push notifications in the shapes of Firebase Cloud Messaging's HTTP v1
/// `messages:send` and Apple's APNs HTTP/2 API, at configurable base URLs. A token the
/// service reports as unknown (unregistered, bad device token) is a permanent failure;
/// a refused credential is transient (an operator fixes it; the reminder waits).
public struct PushProvider: NotificationProvider {
    public struct FCMConfiguration: Sendable {
        public var baseURL: String
        public var projectID: String
        /// An OAuth 2 access token for the project (kept fresh by the deployment).
        public var accessToken: String

        public init(baseURL: String = "https://fcm.googleapis.com", projectID: String, accessToken: String) {
            self.baseURL = baseURL
            self.projectID = projectID
            self.accessToken = accessToken
        }
    }

    public struct APNsConfiguration: Sendable {
        public var baseURL: String
        /// The app's bundle id (`apns-topic`).
        public var topic: String
        /// A provider authentication token (JWT) (kept fresh by the deployment).
        public var authenticationToken: String

        public init(baseURL: String = "https://api.push.apple.com", topic: String, authenticationToken: String) {
            self.baseURL = baseURL
            self.topic = topic
            self.authenticationToken = authenticationToken
        }
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

    public init(transport: HTTPTransport, service: Service, logger: Logger) {
        self.transport = transport
        self.service = service
        self.logger = logger
    }

    public func send(_ request: DeliveryRequest) async throws(DeliveryFailure) -> DeliveryReceipt {
        guard case .push(let platform, let token) = request.channel else {
            throw .permanent("wrong_channel", "the push provider got a \(request.channel.type) channel")
        }
        switch (service, platform) {
        case (.fcm(let configuration), .fcm):
            return try await sendFCM(request, token: token, configuration: configuration)
        case (.apns(let configuration), .apns):
            return try await sendAPNs(request, token: token, configuration: configuration)
        default:
            throw .permanent("wrong_channel", "the \(name) provider got a \(platform.rawValue) token")
        }
    }

    private func sendFCM(_ request: DeliveryRequest, token: String, configuration: FCMConfiguration)
        async throws(DeliveryFailure) -> DeliveryReceipt
    {
        let path = "/v1/projects/\(HTTPTransport.pathSegment(configuration.projectID))/messages:send"
        var httpRequest = HTTPClientRequest(url: HTTPTransport.join(configuration.baseURL, path))
        httpRequest.method = .POST
        httpRequest.headers.add(name: "Authorization", value: "Bearer \(configuration.accessToken)")
        httpRequest.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        httpRequest.body = .bytes(ByteBuffer(string: Self.fcmBody(request, token: token)))
        let answer = try await transport.perform(httpRequest, logger: logger)
        if (200..<300).contains(answer.status) {
            return DeliveryReceipt(answer: "HTTP \(answer.status)", providerMessageID: Self.fcmMessageName(answer.body))
        }
        // FCM names the error in `error.details[].errorCode` (v1) or `error.status`.
        let code = Self.fcmErrorCode(answer.body)
        switch (answer.status, code) {
        case (404, _), (_, "UNREGISTERED"):
            throw .permanent("unregistered", "HTTP \(answer.status) \(code ?? "")")
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

    private func sendAPNs(_ request: DeliveryRequest, token: String, configuration: APNsConfiguration)
        async throws(DeliveryFailure) -> DeliveryReceipt
    {
        var httpRequest = HTTPClientRequest(
            url: HTTPTransport.join(configuration.baseURL, "/3/device/\(HTTPTransport.pathSegment(token))"))
        httpRequest.method = .POST
        httpRequest.headers.add(name: "authorization", value: "bearer \(configuration.authenticationToken)")
        httpRequest.headers.add(name: "apns-topic", value: configuration.topic)
        httpRequest.headers.add(name: "apns-push-type", value: "alert")
        // APNs deduplicates nothing, but echoes `apns-id`: one per reminder, for tracing.
        httpRequest.headers.add(name: "apns-id", value: Self.apnsID(reminderID: request.reminderID))
        httpRequest.headers.add(name: "content-type", value: "application/json")
        httpRequest.body = .bytes(ByteBuffer(string: Self.apnsBody(request)))
        let answer = try await transport.perform(httpRequest, logger: logger)
        if answer.status == 200 {
            return DeliveryReceipt(answer: "HTTP 200", providerMessageID: answer.headers.first(name: "apns-id"))
        }
        let reason = Self.apnsReason(answer.body)
        switch (answer.status, reason) {
        case (410, _), (400, "BadDeviceToken"), (400, "DeviceTokenNotForTopic"):
            throw .permanent("unregistered", "HTTP \(answer.status) \(reason ?? "")")
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
