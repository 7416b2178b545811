import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL

/// scripts/token_endpoint.py on a loopback port, with TLS: Google's token endpoint, FCM's
/// `messages:send` and APNs' device endpoint, each checking the service's signed tokens
/// with PyJWT. It makes fresh keys at start (nothing is committed) in a folder of its
/// own, which `stop()` removes.
public final class TokenEndpoint: @unchecked Sendable {
    /// What the endpoint counted so far.
    public struct Counts: Sendable, Equatable {
        public var issued = 0
        public var exchangeRejected = 0
        public var fcmSends = 0
        public var fcmAccepted = 0
        public var fcmUnauthenticated = 0
        public var apnsSends = 0
        public var apnsAccepted = 0
        public var apnsExpired = 0
        public var apnsInvalid = 0
    }

    public let port: Int
    public var baseURL: String { "https://127.0.0.1:\(port)" }
    /// The CA file that makes clients trust the endpoint.
    public let caFile: String
    /// The service-account key it issues tokens for (token_uri is its own `/token`).
    public var serviceAccountFile: String { directory.appendingPathComponent("service-account.json").path }
    /// The same account with another RSA key: its assertions are refused.
    public var foreignServiceAccountFile: String {
        directory.appendingPathComponent("foreign-service-account.json").path
    }
    /// The APNs key it checks provider tokens against, and a key it does not know.
    public var apnsKeyFile: String { directory.appendingPathComponent("apns.p8").path }
    public var foreignAPNsKeyFile: String { directory.appendingPathComponent("foreign-apns.p8").path }
    public let apnsKeyID = "KEY123ABCD"
    public let apnsTeamID = "TEAM456XYZ"
    public let projectID = "token-endpoint-project"

    private let directory: URL
    private let process: Process
    private let client: LoopbackPeerClient

    /// `tokenLifetime`: the `expires_in` of its access tokens, in seconds.
    /// `apnsMaximumAge`: provider tokens older than this are refused as expired.
    public init(tokenLifetime: Double = 2, apnsMaximumAge: Double = 3_600, lifetime: Int = 300) async throws {
        let certificate = try await TestCertificate.made()
        caFile = certificate.certificateFile
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ns-token-endpoint-\(UUID())")
        try FileManager.default.createDirectory(
            at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let (process, text) = try await PythonScript.start(
            "token_endpoint.py",
            [
                "--cert", certificate.certificateFile, "--key", certificate.keyFile, "--dir", directory.path,
                "--token-lifetime", String(tokenLifetime), "--apns-max-age", String(apnsMaximumAge),
                "--lifetime", String(lifetime),
            ])
        self.process = process
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5)) else {
            process.terminate()
            try? FileManager.default.removeItem(at: directory)
            throw ProviderSink.SinkError(message: "token_endpoint.py did not start: \(text)")
        }
        self.port = port
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots = [.file(certificate.certificateFile)]
        client = LoopbackPeerClient(tls: tls)
    }

    public func counts() async throws -> Counts {
        let data = try await call("GET", "/_control/counts")
        guard let object = try JSONSerialization.jsonObject(with: Data(data)) as? [String: Int] else {
            throw ProviderSink.SinkError(message: "unreadable counts")
        }
        return Counts(
            issued: object["issued"] ?? -1, exchangeRejected: object["exchange_rejected"] ?? -1,
            fcmSends: object["fcm_sends"] ?? -1, fcmAccepted: object["fcm_accepted"] ?? -1,
            fcmUnauthenticated: object["fcm_unauthenticated"] ?? -1, apnsSends: object["apns_sends"] ?? -1,
            apnsAccepted: object["apns_accepted"] ?? -1, apnsExpired: object["apns_expired"] ?? -1,
            apnsInvalid: object["apns_invalid"] ?? -1)
    }

    /// Every access token issued so far is refused from now on (401 at `messages:send`).
    public func revokeTokens() async throws {
        try await configure(["revoke_tokens": true])
    }

    /// `messages:send` refuses every token (or not).
    public func rejectFCM(_ reject: Bool) async throws {
        try await configure(["reject_fcm": reject])
    }

    public func configure(_ settings: [String: Any]) async throws {
        _ = try await call("POST", "/_control/config", body: try JSONSerialization.data(withJSONObject: settings))
    }

    /// Ends the endpoint, removes its keys and closes the control client.
    public func stop() async {
        process.terminate()
        try? FileManager.default.removeItem(at: directory)
        await client.shutdown()
    }

    private func call(_ method: String, _ path: String, body: Data? = nil) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .RAW(value: method)
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request)
        let bytes = try await response.body.collect(upTo: 16 * 1024 * 1024)
        guard (200..<300).contains(response.status.code) else {
            throw ProviderSink.SinkError(message: "\(method) \(path): HTTP \(response.status.code)")
        }
        return Array(bytes.readableBytesView)
    }
}
