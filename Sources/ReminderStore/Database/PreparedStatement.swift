import Crypto
import Logging
import PostgresNIO
import ReminderCore

/// A statement the server parses and plans once per connection rather than on every call.
/// For the statements run hundreds of times a second with a few dozen rows each (the
/// dispatcher's claim and outcomes, the status relay's reads and deletes): sent as
/// unnamed statements, PostgreSQL parsed and planned them every time, and planning alone
/// was a sixth of its time in the dispatch benchmark (pg_stat_statements, issue 19).
/// After five executions PostgreSQL keeps a generic plan when it is no worse than the
/// custom ones.
///
/// A pooler between the service and PostgreSQL in transaction mode must carry prepared
/// statements (PgBouncer 1.21 and later with `max_prepared_statements` set).
protocol PreparedSQL {
    /// The statement's name on the connection: `preparedName(sql)`.
    static var name: String { get }
    static var sql: String { get }
}

/// A prepared statement's name made from its text: `ns_` and the first 16 bytes of its
/// SHA-256 in hex. Two statements with the same name would run each other's SQL, and
/// PostgreSQL cuts names at 63 bytes; a name from the text cannot be given twice by
/// mistake (the same text under two types shares one statement, which is harmless).
func preparedName(_ sql: String) -> String {
    "ns_" + HexEncoding.string(SHA256.hash(data: Array(sql.utf8)).prefix(16))
}

/// `S` with the values of one call, as PostgresNIO runs it: prepared on a connection the
/// first time it is used there, then only bound and executed.
struct Prepared<S: PreparedSQL>: PostgresPreparedStatement {
    typealias Row = PostgresRow

    static var name: String { S.name }
    static var sql: String { S.sql }

    let bindings: PostgresBindings

    func makeBindings() -> PostgresBindings { bindings }

    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}

extension PostgresClient {
    /// Runs the prepared statement `S` with `bindings` on a connection of the pool and
    /// hands each row to `eachRow`.
    ///
    /// A failure from PostgreSQL closes the connection (the pool opens another): PostgresNIO
    /// keeps a statement whose preparation failed as failed for the whole life of the
    /// connection, so a claim first prepared before the tables existed (`serve
    /// --no-migrate` ahead of `migrate`), or whose preparation met any other error, would
    /// fail on that connection for good.
    func execute<S: PreparedSQL>(
        _: S.Type, _ bindings: PostgresBindings = PostgresBindings(), logger: Logger,
        eachRow: (PostgresRow) throws -> Void = { _ in }
    ) async throws {
        try await withConnection { connection in
            do {
                for try await row in try await connection.execute(Prepared<S>(bindings: bindings), logger: logger) {
                    try eachRow(row)
                }
            } catch let error as PSQLError {
                await connection.discard(within: .seconds(10))
                throw error
            }
        }
    }
}
