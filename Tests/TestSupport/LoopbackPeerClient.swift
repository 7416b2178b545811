import AsyncHTTPClient
import NIOCore
import NIOSSL

/// How a test calls its loopback peers (the Python sinks, moto, a served instance).
///
/// When the whole suite runs at once on two cores, a single-threaded Python peer can
/// take longer than AsyncHTTPClient's default 10 s to accept a connection: a test's
/// call then failed with `connectTimeout` although nothing under test was wrong. These
/// limits only end calls to a peer that has stopped; they say nothing about speed.
///
/// A peer's client is shut down by `shutdown()`, or when it is released: a test that
/// failed before stopping its peer must not leave a running client behind, because a
/// debug AsyncHTTPClient stops the process when one is released.
public final class LoopbackPeerClient: Sendable {
    private let client: HTTPClient

    public init(tls: TLSConfiguration? = nil) {
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(60), read: .seconds(90))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Sends `request`, allowing 90 s in all.
    public func execute(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        try await client.execute(request, timeout: .seconds(90))
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    /// After `shutdown()` this is answered with an error nobody needs.
    deinit {
        client.shutdown { _ in }
    }

    /// One client for plain-HTTP calls, alive as long as the test process.
    public static let shared = LoopbackPeerClient()
}
