import Logging
import PostgresNIO

extension DatabaseConfiguration {
    /// A connection pool for this database. It connects once `run()` runs in a task of
    /// its own (a `Service` of the service group in the server).
    public func makeClient(logger: Logger = Logger(label: "postgres")) -> PostgresClient {
        PostgresClient(configuration: clientConfiguration(), backgroundLogger: logger)
    }
}
