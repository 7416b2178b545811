import Logging
import PostgresNIO

/// The shared token buckets in PostgreSQL (table `rate_limits`): one `UPDATE … RETURNING`
/// refills a bucket by the database's clock and takes the tokens, under the row's lock,
/// so instances asking at once are served one after the other and never share a token.
public struct RateLimitStore: RateLimitStoring {
    private let client: PostgresClient
    private let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func take(
        _ count: Int, from name: String, rate: Double, burst: Double
    ) async throws(StoreError) -> RateLimitGrant {
        do {
            if let grant = try await takeFromRow(count, name: name, rate: rate, burst: burst) { return grant }
            // The bucket's first use: created full, then taken from like any other.
            try await client.query(
                """
                INSERT INTO rate_limits (name, tokens, updated_at) VALUES (\(name), \(burst), clock_timestamp())
                ON CONFLICT (name) DO NOTHING
                """, logger: logger)
            if let grant = try await takeFromRow(count, name: name, rate: rate, burst: burst) { return grant }
            throw StoreError(code: .query, operation: "take rate-limit tokens", message: "the bucket was not created")
        } catch {
            throw StoreError.wrapping(error, operation: "take rate-limit tokens")
        }
    }

    /// nil when the bucket has no row yet.
    ///
    /// The subquery locks the row (`FOR UPDATE`); a take that waited for another
    /// instance's reads the row as that one left it, and `clock_timestamp()` (not `now()`,
    /// the transaction's start) is the time after the wait: the refill counts the time
    /// since the last take, and `updated_at` never moves back. (Its two readings are
    /// microseconds apart: a refill of rate × microseconds, far below one token.)
    private func takeFromRow(_ count: Int, name: String, rate: Double, burst: Double) async throws -> RateLimitGrant? {
        let rows = try await client.query(
            """
            UPDATE rate_limits AS r SET tokens = b.available - b.granted, updated_at = b.at
            FROM (
                SELECT name, at, available, least(\(count)::float8, floor(available)) AS granted FROM (
                    SELECT name, greatest(clock_timestamp(), updated_at) AS at,
                        least(\(burst)::float8, tokens + \(rate)::float8
                            * greatest(0, extract(epoch FROM clock_timestamp() - updated_at)::float8)) AS available
                    FROM rate_limits WHERE name = \(name) FOR UPDATE
                ) AS locked
            ) AS b
            WHERE r.name = b.name
            RETURNING b.granted::int8, (b.available - b.granted)::float8
            """, logger: logger)
        for try await (granted, remaining) in rows.decode((Int64, Double).self) {
            return RateLimitGrant(granted: Int(granted), remaining: remaining)
        }
        return nil
    }
}
