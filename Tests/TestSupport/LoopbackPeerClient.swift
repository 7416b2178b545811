import AsyncHTTPClient
import NIOCore
import NIOSSL

/// How a test calls its loopback peers (the Python sinks, moto, a served instance).
///
/// When the whole suite runs at once on two cores, a single-threaded Python peer can
/// take longer than AsyncHTTPClient's default 10 s to accept a connection: a test's
/// call then failed with `connectTimeout` although nothing under test was wrong. These
/// limits only end calls to a peer that has stopped; they say nothing about speed.
public enum LoopbackPeerClient {
    /// For `HTTPClient.execute(_:timeout:)`.
    public static let deadline: TimeAmount = .seconds(90)

    public static func configuration(tls: TLSConfiguration? = nil) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(60), read: .seconds(90))
        return configuration
    }

    /// A client with `configuration(tls:)`; shut it down when done.
    public static func make(tls: TLSConfiguration? = nil) -> HTTPClient {
        HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration(tls: tls))
    }

    /// One client for plain-HTTP calls, alive as long as the test process.
    public static let shared = make()
}
