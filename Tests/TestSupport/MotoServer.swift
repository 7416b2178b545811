import AsyncHTTPClient
import Foundation
import NIOCore

/// scripts/moto_peer.py on a loopback port: moto's server standing in for SES and SNS,
/// with what it accepted read back from `GET /moto-api/data.json`.
public final class MotoServer: @unchecked Sendable {
    public let port: Int
    public var endpoint: String { "http://127.0.0.1:\(port)" }
    private let process: Process
    private let client: LoopbackPeerClient

    /// `verifiedSenders`: SES identities verified in `region` before the port is told.
    public init(verifiedSenders: [String] = [], region: String = "us-east-1", lifetime: Int = 600) async throws {
        let (process, text) = try await PythonScript.start(
            "moto_peer.py",
            verifiedSenders.flatMap { ["--verify-email", $0] } + ["--region", region, "--lifetime", String(lifetime)])
        self.process = process
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5)) else {
            process.terminate()
            throw ProviderSink.SinkError(message: "moto_peer.py did not start: \(text)")
        }
        self.port = port
        client = LoopbackPeerClient()
    }

    /// The instances moto keeps of `model` in `service` (`ses`/`Message`, `sns`/`SMS`), as
    /// `/moto-api/data.json` lists them.
    public func records(service: String, model: String) async throws -> [[String: Any]] {
        let response = try await client.execute(HTTPClientRequest(url: endpoint + "/moto-api/data.json"))
        let bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
        guard response.status.code == 200,
            let document = try JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any],
            let models = document[service] as? [String: Any]
        else {
            throw ProviderSink.SinkError(message: "moto-api/data.json: HTTP \(response.status.code) or unreadable")
        }
        return models[model] as? [[String: Any]] ?? []
    }

    /// Ends moto and the client.
    public func stop() async {
        process.terminate()
        await client.shutdown()
    }
}
