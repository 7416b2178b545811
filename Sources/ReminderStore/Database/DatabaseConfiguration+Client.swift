import Logging
import PostgresNIO

extension DatabaseConfiguration {
    /// A connection pool for this database. It connects once `run()` runs in a task of
    /// its own (a `Service` of the service group in the server).
    public func makeClient(logger: Logger = Logger(label: "postgres")) -> PostgresClient {
        PostgresClient(configuration: clientConfiguration(), backgroundLogger: logger)
    }
}

extension DatabaseConfiguration {
    /// Runs `body` with a connection pool that runs for exactly that long: for commands
    /// and tools that use the database once, outside a service group.
    public func withClient<T: Sendable>(
        logger: Logger = Logger(label: "postgres"), _ body: (PostgresClient) async throws -> T
    ) async throws -> T {
        let client = makeClient(logger: logger)
        let runner = Task { await client.run() }
        defer { runner.cancel() }
        return try await body(client)
    }
}
