import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL

/// scripts/provider_sink.py on a loopback port, with TLS: it records every request and
/// answers as scripted per path, so that a test can check what each provider sends and
/// make it meet success, each failure class, slow answers and dropped connections.
public final class ProviderSink: @unchecked Sendable {
    /// One scripted answer.
    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: String
        public var delayMilliseconds: Int
        /// `hang` (never answers) or `drop` (closes the connection), else nil.
        public var action: String?
        /// A process the sink kills with SIGKILL once it has recorded the request.
        public var killProcess: Int32?

        public init(
            status: Int = 200, headers: [String: String] = [:], body: String = "{}", delayMilliseconds: Int = 0,
            action: String? = nil, killProcess: Int32? = nil
        ) {
            self.status = status
            self.headers = headers
            self.body = body
            self.delayMilliseconds = delayMilliseconds
            self.action = action
            self.killProcess = killProcess
        }

        public static let ok = Response()
        public static func status(_ status: Int, body: String = "{}", headers: [String: String] = [:]) -> Response {
            Response(status: status, headers: headers, body: body)
        }
        public static let hang = Response(action: "hang")
        public static let drop = Response(action: "drop")

        var json: [String: Any] {
            var object: [String: Any] = [
                "status": status, "headers": headers, "body": body, "delay_ms": delayMilliseconds,
            ]
            if let action { object["action"] = action }
            if let killProcess { object["kill_pid"] = Int(killProcess) }
            return object
        }
    }

    /// A request as the sink received it.
    public struct Request: Sendable {
        public let method: String
        public let path: String
        /// Header names in lower case.
        public let headers: [String: String]
        public let body: [UInt8]
        /// When it arrived, seconds since 1970.
        public let at: Double

        public var bodyText: String { String(decoding: body, as: UTF8.self) }
        public var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] }
    }

    public let port: Int
    public var baseURL: String { "https://127.0.0.1:\(port)" }
    /// The CA file that makes clients trust the sink.
    public let caFile: String
    private let process: Process
    private let client: LoopbackPeerClient

    /// `arguments`: more of the script's options (`--sendgrid-key KEY` makes it check
    /// SendGrid's Mail Send contract). `names`: which names its certificate is for.
    public init(
        lifetime: Int = 600, arguments: [String] = [], names: TestCertificate.Names = .loopback
    ) async throws {
        let certificate = try await TestCertificate.made(names)
        caFile = certificate.certificateFile
        let (process, text) = try await PythonScript.start(
            "provider_sink.py",
            ["--cert", certificate.certificateFile, "--key", certificate.keyFile, "--lifetime", String(lifetime)]
                + arguments)
        self.process = process
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5)) else {
            process.terminate()
            throw SinkError(message: "provider_sink.py did not start: \(text)")
        }
        self.port = port
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots = [.file(certificate.certificateFile)]
        // The control calls are not what a test checks: they reach the sink whatever names
        // its certificate.
        if names == .elsewhere { tls.certificateVerification = .noHostnameVerification }
        client = LoopbackPeerClient(tls: tls)
    }

    public struct SinkError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// Answers requests to `path` with `responses` in order, then with `fallback`.
    public func script(_ path: String, _ responses: [Response], then fallback: Response = .ok) async throws {
        let body: [String: Any] = ["path": path, "responses": responses.map(\.json), "default": fallback.json]
        _ = try await call("POST", "/_control/script", body: try JSONSerialization.data(withJSONObject: body))
    }

    /// Every request received so far (to `path` only, when given).
    public func requests(path: String? = nil) async throws -> [Request] {
        var target = "/_control/requests"
        if let path { target += "?path=" + (path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? path) }
        let data = try await call("GET", target)
        guard let items = try JSONSerialization.jsonObject(with: Data(data)) as? [[String: Any]] else {
            throw SinkError(message: "unreadable request list")
        }
        return items.map { item in
            Request(
                method: item["method"] as? String ?? "", path: item["path"] as? String ?? "",
                headers: item["headers"] as? [String: String] ?? [:],
                body: Array(Data(base64Encoded: item["body"] as? String ?? "") ?? Data()),
                at: item["at"] as? Double ?? 0)
        }
    }

    /// How many requests arrived so far.
    public func count() async throws -> Int {
        let data = try await call("GET", "/_control/count")
        return (try JSONSerialization.jsonObject(with: Data(data)) as? [String: Any])?["requests"] as? Int ?? -1
    }

    /// POSTs `body` to `path` of the sink as a client would (to see what a stand-in mode
    /// answers to a request no provider would send); the status and body, whatever they are.
    public func post(_ path: String, headers: [String: String], body: String) async throws -> (
        status: Int, body: [UInt8]
    ) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await client.execute(request)
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), Array(bytes.readableBytesView))
    }

    /// Ends the sink and the control client.
    public func stop() async {
        process.terminate()
        await client.shutdown()
    }

    private func call(_ method: String, _ path: String, body: Data? = nil) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .RAW(value: method)
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request)
        let bytes = try await response.body.collect(upTo: 512 * 1024 * 1024)
        guard (200..<300).contains(response.status.code) else {
            throw SinkError(message: "\(method) \(path): HTTP \(response.status.code)")
        }
        return Array(bytes.readableBytesView)
    }
}
