import AsyncHTTPClient
import Foundation
import Kafka
import NIOCore
import NIOHTTP1
import TestSupport
import Testing

/// A `notification-service serve` process with its HTTP API on a free loopback port, and
/// a real HTTP client to talk to it. Its JSON log lines go to a file kept for a failed
/// test's reader.
final class ServedInstance: @unchecked Sendable {
    static let token = "test-token-0123456789abcdef"

    let process: Process
    private(set) var port = 0
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

    /// Starts the service on a port of its choosing (it logs which) and waits until
    /// `/health/live` answers.
    init(topic: String, group: String, databaseURL: String, settings: [String: String] = [:]) async throws {
        log = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        var all = ["HTTP_PORT": "0", "API_TOKEN": Self.token, "LOG_FORMAT": "json"]
        all.merge(settings) { $1 }
        process = try ServeProcess.launch(
            topic: topic, group: group, databaseURL: databaseURL, settings: all,
            output: try FileHandle(forWritingTo: log))
        let probe = self
        try await eventually(.seconds(30), "the service to log its HTTP port") {
            probe.port = probe.loggedPort() ?? 0
            return probe.port > 0 || !probe.process.isRunning
        }
        try #require(process.isRunning, "serve ended at start:\n\(logTail)")
        try await eventually(.seconds(30), "the HTTP server to answer") {
            (try? await probe.call("GET", "/health/live", template: "/health/live"))?.status == 200
        }
    }

    /// The port of the log line `http server listening`.
    private func loggedPort() -> Int? {
        for line in logLines where line.contains("\"message\":\"http server listening\"") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                continue
            }
            return (object["port"] as? String).flatMap { Int($0) }
        }
        return nil
    }

    /// `token`: the bearer token to send; nil for none.
    /// `authorization`: the whole header instead (for malformed ones).
    func call(
        _ method: String, _ path: String, template: String, token: String? = ServedInstance.token,
        authorization: String? = nil
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = HTTPMethod(rawValue: method)
        if let header = authorization ?? token.map({ "Bearer \($0)" }) {
            request.headers.add(name: "Authorization", value: header)
        }
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

    /// Runs `body`, then stops the service with SIGTERM and expects it to exit 0 within
    /// `limit` with a log of JSON lines only; on an error, records the log's tail and stops
    /// it. Returns the log's lines.
    @discardableResult
    func serving(stopWithin limit: Duration = .seconds(30), _ body: () async throws -> Void) async throws
        -> [Substring]
    {
        do {
            try await body()
        } catch {
            Issue.record("service log:\n\(logTail)")
            _ = try? await stop()
            throw error
        }
        #expect(try await stop(within: limit) == 0, "the service exits 0 on SIGTERM within \(limit)")
        let lines = logLines
        #expect(lines.allSatisfy { $0.hasPrefix("{") && $0.hasSuffix("}") }, "JSON lines only")
        return lines
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
