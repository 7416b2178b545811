import Logging
import PostgresNIO

/// An outbox's lease as its relays ask for it (`OutboxLease`): one relay of all instances
/// publishes the outbox at a time.
public protocol OutboxLeaseStoring: Sendable {
    /// Asks for the outbox's lease for `holder`: true when granted for `duration` (taken,
    /// or renewed by its holder), false while another holder has it.
    func askLease(_ holder: String, for duration: Duration) async throws(StoreError) -> Bool

    /// Gives the lease up if `holder` holds it.
    func releaseLease(_ holder: String) async throws(StoreError)
}

/// A store of an outbox that answers its lease's calls with `outboxLease`: the status
/// and dead-letter stores with their row's `OutboxLeaseStore`, their memory stand-ins with
/// a `MemoryOutboxLease`.
public protocol OutboxLeaseForwarding: OutboxLeaseStoring {
    associatedtype Lease: OutboxLeaseStoring
    var outboxLease: Lease { get }
}

extension OutboxLeaseForwarding {
    public func askLease(_ holder: String, for duration: Duration) async throws(StoreError) -> Bool {
        try await outboxLease.askLease(holder, for: duration)
    }

    public func releaseLease(_ holder: String) async throws(StoreError) {
        try await outboxLease.releaseLease(holder)
    }
}

/// The leases in PostgreSQL: a row of `outbox_leases` per outbox (migrations 0015 and
/// 0016), named as its table is (`status_events`, `dead_letters`).
public struct OutboxLeaseStore: OutboxLeaseStoring {
    let client: PostgresClient
    let logger: Logger
    /// The outbox's row.
    public let outbox: String

    public init(client: PostgresClient, logger: Logger, outbox: String) {
        self.client = client
        self.logger = logger
        self.outbox = outbox
    }

    /// Granted when `holder` holds the lease (renewed) or it has expired (taken), for
    /// `duration` from the database's answer; refused while another holder's lease runs.
    /// A refused ask writes nothing.
    public func askLease(_ holder: String, for duration: Duration) async throws(StoreError) -> Bool {
        do {
            var binds = PostgresBindings(capacity: 3)
            binds.append(outbox)
            binds.append(holder)
            binds.append(duration.wholeMilliseconds)
            var granted = false
            try await client.execute(AskStatement.self, binds, logger: logger) { _ in granted = true }
            return granted
        } catch {
            throw StoreError.wrapping(error, operation: "ask for the lease of \(outbox)")
        }
    }

    /// Gives the lease up if `holder` holds it, so that another relay can take it at once.
    public func releaseLease(_ holder: String) async throws(StoreError) {
        do {
            var binds = PostgresBindings(capacity: 2)
            binds.append(outbox)
            binds.append(holder)
            try await client.execute(ReleaseStatement.self, binds, logger: logger)
        } catch {
            throw StoreError.wrapping(error, operation: "give up the lease of \(outbox)")
        }
    }

    /// Takes or renews the lease. The condition is checked before the row is locked, so a
    /// refused ask neither locks nor writes; two relays asking for an expired lease at once
    /// queue on the row, and the second sees the first's holder and is refused.
    enum AskStatement: PreparedSQL {
        static let name = preparedName(sql)
        static let sql = """
            UPDATE outbox_leases SET holder = $2, expires_at = now() + $3 * interval '1 millisecond'
            WHERE outbox = $1 AND (holder = $2 OR expires_at <= now())
            RETURNING true
            """
    }

    enum ReleaseStatement: PreparedSQL {
        static let name = preparedName(sql)
        static let sql = """
            UPDATE outbox_leases SET holder = '', expires_at = '-infinity'
            WHERE outbox = $1 AND holder = $2
            """
    }
}
