import AsyncHTTPClient
import Foundation
import Kafka
import NIOCore
import NIOHTTP1
import TestSupport

/// A `notification-service serve` process with its HTTP API on a free loopback port, and
/// a real HTTP client to talk to it. Its JSON log lines go to a file kept for a failed
/// test's reader.
final class ServedInstance: @unchecked Sendable {
    static let token = "test-token-0123456789abcdef"

    let process: Process
    let port: Int
    let log: URL

    /// One answer of the API, with what `OpenAPIDocumentTests` needs to check it.
    struct Answer: Sendable {
        let method: String
        /// The documented path template (`/v1/reminders/{id}`).
        let template: String
        let status: Int
        let contentType: String
        let wwwAuthenticate: String?
        let body: String

        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] }

        /// As `scripts/openapi_check.py` reads it.
        var document: [String: Any] {
            ["method": method, "path": template, "status": status, "content_type": contentType, "body": body]
        }
    }

    /// Starts the service and waits until `/health/live` answers.
    init(topic: String, group: String, databaseURL: String, settings: [String: String] = [:]) async throws {
        port = try FreePort.next()
        log = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        var all = ["HTTP_PORT": String(port), "API_TOKEN": Self.token, "LOG_FORMAT": "json"]
        all.merge(settings) { $1 }
        process = try ServeProcess.launch(
            topic: topic, group: group, databaseURL: databaseURL, settings: all,
            output: try FileHandle(forWritingTo: log))
        let probe = self
        try await eventually(.seconds(30), "the HTTP server to answer") {
            (try? await probe.call("GET", "/health/live", template: "/health/live"))?.status == 200
        }
    }

    /// `token`: the bearer token to send; nil for none.
    func call(
        _ method: String, _ path: String, template: String, token: String? = ServedInstance.token
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = HTTPMethod(rawValue: method)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(15))
        let body = try await response.body.collect(upTo: 16 << 20)
        return Answer(
            method: method, template: template, status: Int(response.status.code),
            contentType: response.headers.first(name: "content-type") ?? "",
            wwwAuthenticate: response.headers.first(name: "www-authenticate"), body: String(buffer: body))
    }

    /// The value of a metric line `name` (with its labels, as printed) in `/metrics`.
    func metric(_ line: String) async throws -> Double? {
        let text = try await call("GET", "/metrics", template: "/metrics").body
        for row in text.split(separator: "\n") where row.hasPrefix(line + " ") {
            return Double(row.dropFirst(line.count + 1))
        }
        return nil
    }

    /// Sends `signal` and waits for the exit; the exit status, nil if it did not end in time.
    func stop(_ signal: Int32 = SIGTERM, within limit: Duration = .seconds(30)) async throws -> Int32? {
        if process.isRunning { kill(process.processIdentifier, signal) }
        return try await process.exitStatus(within: limit)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: log)
    }

    /// The log's lines.
    var logLines: [Substring] {
        ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n")
    }

    /// The last log lines (for a failed expectation's message).
    var logTail: String { logLines.suffix(20).joined(separator: "\n") }
}

/// Events the tests of a whole `serve` process publish, and the settings they need.
enum ServiceEvents {
    /// A webhook reminder due now, keyed by its user.
    static func webhook(_ id: String, url: String, topic: String) -> KafkaProducerMessage {
        let user = "user-\(id)"
        let value = """
            {"schema_version":1,"type":"schedule","idempotency_key":"key-\(id)","reminder_id":"\(id)",\
            "user_id":"\(user)","deliver_at":"2026-01-01T09:00:00Z","channels":[{"type":"webhook","url":"\(url)"}],\
            "content":{"title":"\(title(id))","body":"\(body(id))"},"correlation_id":"corr-\(id)"}
            """
        return KafkaProducerMessage(topic: topic, key: Array(user.utf8), value: Array(value.utf8))
    }

    /// The reminder's text: personal data, which no log line may hold.
    static func title(_ id: String) -> String { "Title of \(id), private" }
    static func body(_ id: String) -> String { "Body of \(id), private" }

    /// A schedule without channels: dead-lettered as invalid_event.
    static func invalid(topic: String) -> KafkaProducerMessage {
        let value = """
            {"schema_version":1,"type":"schedule","idempotency_key":"key-invalid","reminder_id":"invalid-1",\
            "user_id":"user-invalid","deliver_at":"2026-01-01T09:00:00Z","content":{"title":"T","body":"B"}}
            """
        return KafkaProducerMessage(topic: topic, key: Array("user-invalid".utf8), value: Array(value.utf8))
    }

    /// The settings a `serve` process needs to send webhooks to the test sink.
    static func settings(_ sink: ProviderSink) -> [String: String] {
        [
            "WEBHOOK_SIGNING_SECRET": "0123456789abcdef-secret", "WEBHOOK_ALLOW_LOOPBACK": "true",
            "HTTP_PROVIDER_CA_FILE": sink.caFile, "HTTP_PROVIDER_TIMEOUT_MS": "2000",
        ]
    }
}
