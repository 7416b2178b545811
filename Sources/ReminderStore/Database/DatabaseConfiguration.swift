import Foundation
import PostgresNIO

/// Where the database is, parsed from a `postgres://user:password@host:port/database`
/// URL (`DATABASE_URL`). `sslmode=disable|prefer|require` may follow as a query item.
public struct DatabaseConfiguration: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    /// Connections the pool may open.
    public var maximumConnections: Int

    public enum TLSMode: String, Sendable {
        case disable, prefer, require
    }

    public init(url text: String, maximumConnections: Int = 8) throws(StoreError) {
        func invalid(_ message: String) -> StoreError {
            StoreError(code: .configuration, operation: "read DATABASE_URL", message: message)
        }
        guard let url = URLComponents(string: text), let scheme = url.scheme,
            ["postgres", "postgresql"].contains(scheme)
        else { throw invalid("must look like postgres://user:password@host:port/database") }
        guard let host = url.host, !host.isEmpty else { throw invalid("has no host") }
        guard let username = url.user, !username.isEmpty else { throw invalid("has no user name") }
        let database = String(url.path.drop { $0 == "/" })
        guard !database.isEmpty else { throw invalid("has no database name") }
        self.host = host
        self.port = url.port ?? 5432
        self.username = username.removingPercentEncoding ?? username
        self.password = url.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database
        let mode = url.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        guard let tls = TLSMode(rawValue: mode) else { throw invalid("sslmode must be disable, prefer or require") }
        self.tls = tls
        guard maximumConnections > 0 else { throw invalid("needs at least one connection") }
        self.maximumConnections = maximumConnections
    }

    /// Without the password.
    public var description: String { "postgres://\(username)@\(host):\(port)/\(database) (tls \(tls.rawValue))" }

    func clientConfiguration() -> PostgresClient.Configuration {
        let tlsSetting: PostgresClient.Configuration.TLS =
            switch tls {
            case .disable: .disable
            case .prefer: .prefer(.makeClientConfiguration())
            case .require: .require(.makeClientConfiguration())
            }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tlsSetting)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }
}
