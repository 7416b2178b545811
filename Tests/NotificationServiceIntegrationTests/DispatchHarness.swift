import Delivery
import Foundation
import Logging
import NotificationService
import PostgresNIO
import ReminderCore
import ReminderStore
import TestSupport

/// Dispatchers against a test database, sending through providers pointed at loopback
/// sinks. Each runs in a task of its own until `stop()`.
final class DispatchHarness: Sendable {
    static let logger: Logger = {
        var logger = Logger(label: "dispatch-tests")
        logger.logLevel = .info
        return logger
    }()

    let transport: HTTPTransport
    let directory: ProviderDirectory
    private let tasks: [Task<Void, Never>]

    /// `providers` builds the directory from the shared transport.
    init(
        database: PostgresClient, configuration: DatabaseConfiguration, instances: Int = 1, caFile: String,
        httpTimeout: Duration = .seconds(5), dispatcher: Dispatcher.Configuration = DispatcherConfiguration(),
        logger: Logger = DispatchHarness.logger, providers: (HTTPTransport) throws -> ProviderDirectory
    ) throws {
        transport = try HTTPTransport(configuration: .init(timeout: httpTimeout, caFile: caFile))
        directory = try providers(transport)
        let directory = self.directory
        tasks = (0..<instances).map { index in
            var logger = logger
            logger[metadataKey: "instance"] = "\(index)"
            let dispatcher = Dispatcher(
                store: DispatchStore(client: database, logger: logger),
                deliverer: ReminderDeliverer(providers: directory), wakeups: configuration,
                configuration: dispatcher, logger: logger)
            return Task { await dispatcher.run() }
        }
    }

    /// A test that failed before `stop()` leaves no dispatcher running.
    deinit {
        for task in tasks { task.cancel() }
    }

    func stop() async {
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
        try? await transport.shutdown()
    }

    static func webhook(_ transport: HTTPTransport) -> WebhookProvider {
        WebhookProvider(
            transport: transport,
            configuration: .init(
                signingSecret: Array("0123456789abcdef-secret".utf8),
                destinations: DestinationPolicy(allowLoopback: true)))
    }

    static func sms(_ transport: HTTPTransport, baseURL: String, logger: Logger = logger) -> SMSProvider {
        SMSProvider(
            transport: transport,
            configuration: .init(baseURL: baseURL, accountSID: "AC1", authToken: "token", from: "+15550001111"),
            logger: logger)
    }

    static func fcm(_ transport: HTTPTransport, baseURL: String, logger: Logger = logger) -> PushProvider {
        PushProvider(
            transport: transport, service: .fcm(.init(baseURL: baseURL, projectID: "p", accessToken: "token")),
            logger: logger)
    }

    static func guarded(
        _ provider: any NotificationProvider, breaker: CircuitBreaker.Configuration = .default,
        circuits: ProviderCircuits.Scope = .provider, rateLimit: TokenBucket.Configuration? = nil,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }, logger: Logger? = nil
    ) -> GuardedProvider {
        GuardedProvider(
            provider: provider, breaker: breaker, circuits: circuits, rateLimit: rateLimit, now: now, logger: logger)
    }

    /// The states of all reminders, counted.
    static func states(_ client: PostgresClient) async throws -> [String: Int] {
        var states: [String: Int] = [:]
        let rows = try await client.query(
            "SELECT state, count(*)::int8 FROM reminders GROUP BY state", logger: logger)
        for try await (state, count) in rows.decode((String, Int).self) { states[state] = count }
        return states
    }
}
