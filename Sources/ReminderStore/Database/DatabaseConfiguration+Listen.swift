import Logging
import NIOSSL
import PostgresNIO

extension DatabaseConfiguration {
    /// Listens for `NOTIFY` on `channel` over a connection of its own (a pooled one
    /// cannot hold a `LISTEN`) until the calling task is cancelled. `onNotification`
    /// runs for each notification, and once after every (re)connection, because what
    /// was notified while disconnected is lost. Reconnects after `retryDelay`.
    public func listen(
        on channel: String, retryDelay: Duration = .seconds(1), logger: Logger,
        onNotification: @escaping @Sendable () -> Void
    ) async {
        var connectionID = 0
        while !Task.isCancelled {
            connectionID += 1
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: try connectionConfiguration(), id: connectionID, logger: logger)
                defer { Task { try? await connection.close() } }
                try await connection.listen(on: channel) { notifications in
                    onNotification()
                    for try await _ in notifications { onNotification() }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning(
                    "listening for due reminders failed; reconnecting",
                    metadata: ["channel": "\(channel)", "error": "\(String(reflecting: error).prefix(300))"])
            }
            try? await Task.sleep(for: retryDelay)
        }
    }

    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tlsSetting: PostgresConnection.Configuration.TLS =
            switch tls {
            case .disable: .disable
            case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tlsSetting)
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }
}
