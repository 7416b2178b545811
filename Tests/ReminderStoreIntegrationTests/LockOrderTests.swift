import Foundation
import PostgresNIO
import ReminderCore
import ReminderStore
import TestSupport
import Testing

/// The statements that lock reminders they name take them in order of id, whatever order
/// they are given in, or skip those locked, so that two of them on the same rows cannot
/// deadlock. Each is run while another transaction holds the higher of its two rows: one
/// that waits must have locked the lower already, which a `NOWAIT` lock on it shows; the
/// lease renewal must not wait at all.
@Suite(.timeLimit(.minutes(6)))
struct LockOrderTests {
    enum Statement: String, CaseIterable, Sendable {
        case outcomes, ingestCancel
    }

    private let channels: [[String: Any]] = [["type": "email", "to": "ada@example.com"]]

    /// The row ids of reminders `o-9` and `o-10`: ingest's lock looks reminders up by
    /// their reminder id, in whose text order `o-10` comes first.
    private static func ids(_ client: PostgresClient) async throws -> (low: Int64, high: Int64) {
        let rows = try await client.query(
            "SELECT id FROM reminders WHERE reminder_id IN ('o-9', 'o-10') ORDER BY id", logger: TestDatabase.logger
        ).collect()
        try #require(rows.count == 2)
        return (try rows[0].decode(Int64.self), try rows[1].decode(Int64.self))
    }

    /// Runs the statement on the two reminders, highest id first.
    private static func run(_ statement: Statement, client: PostgresClient, claimed: [DispatchStore.Claimed])
        async throws
    {
        let dispatch = DispatchStore(client: client, logger: TestDatabase.logger)
        let highestFirst = claimed.sorted { $0.id > $1.id }
        switch statement {
        case .outcomes:
            let report = try await dispatch.complete(
                highestFirst.map {
                    DispatchStore.Completion(
                        id: $0.id, attempt: $0.attempt, result: .delivered, progress: ChannelProgress(channelCount: 1),
                        errorClass: nil, channelAttempts: [])
                })
            #expect(report.notRecorded.isEmpty)
        case .ingestCancel:
            let records = ["o-10", "o-9"].enumerated().map { index, reminderID -> IngestRecord in
                let userID = "user-\(reminderID.dropFirst(2))"
                let bytes = EventFixtures.json([
                    "schema_version": 1, "type": "cancel", "idempotency_key": "cancel-\(reminderID)",
                    "reminder_id": reminderID, "user_id": userID,
                ])
                return IngestRecord(
                    topic: "reminders", partition: 1, offset: Int64(index), key: Array(userID.utf8), value: bytes,
                    headers: [],
                    decoded: .valid(try! ReminderEventDecoder.decode(bytes)))
            }
            _ = try await IngestStore(client: client, logger: TestDatabase.logger).ingest(records)
        }
    }

    @Test(arguments: Statement.allCases)
    func remindersAreLockedInOrderOfId(_ statement: Statement) async throws {
        try await TestDatabase.withDatabase { client, configuration in
            // Enough rows that PostgreSQL looks each one up by its index.
            try await DueReminders.store(client, count: 2_000, prefix: "o", channels: channels, dueAt: Date())
            let (low, high) = try await Self.ids(client)
            let claimed: [DispatchStore.Claimed]
            if statement == .ingestCancel {
                // The lower row's newest version after the higher's in the table, so that
                // neither the table's order nor the reminder ids' is the ids' order.
                try await client.query(
                    "UPDATE reminders SET updated_at = now() WHERE id = \(low)", logger: TestDatabase.logger)
                claimed = []
            } else {
                claimed = try await Self.claimOnly(low, high, client)
            }
            try await Self.withRowLocked(high, configuration) {
                let running = Task { try await Self.run(statement, client: client, claimed: claimed) }
                var waiting = 0
                for _ in 0..<500 where waiting == 0 {
                    try await Task.sleep(for: .milliseconds(20))
                    waiting = try await Self.waitingForLocks(client)
                }
                #expect(waiting == 1)
                var lockedLow = false
                do {
                    try await client.query(
                        "SELECT id FROM reminders WHERE id = \(low) FOR UPDATE NOWAIT", logger: TestDatabase.logger
                    ).collect()
                } catch let error as PSQLError {
                    lockedLow = error.serverInfo?[.sqlState] == "55P03"
                }
                #expect(lockedLow, "the lower row is not locked while the statement waits for the higher")
                return running
            }.get()
        }
    }

    @Test func theRenewalSkipsALockedReminderWithoutWaitingAndTheNextRenewsIt() async throws {
        try await TestDatabase.withDatabase { client, configuration in
            try await DueReminders.store(client, count: 2_000, prefix: "o", channels: channels, dueAt: Date())
            let (low, high) = try await Self.ids(client)
            let claimed = try await Self.claimOnly(low, high, client)
            let leases = claimed.map { DispatchStore.Lease(id: $0.id, attempt: $0.attempt, occurrence: $0.occurrence) }
            let dispatch = DispatchStore(client: client, logger: TestDatabase.logger)
            let leaseLeft = { (id: Int64) in
                try await TestDatabase.count(
                    client, "SELECT extract(epoch FROM lease_until - now())::int8 FROM reminders WHERE id = \(id)")
            }
            let lost = try await Self.withRowLocked(high, configuration) {
                let running = Task { try await dispatch.renew(leases, lease: .seconds(600)) }
                // Until the renewal has committed, or waits for the locked row (10 s at most).
                var waiting = 0
                for _ in 0..<500 where waiting == 0 {
                    try await Task.sleep(for: .milliseconds(20))
                    if try await leaseLeft(low) > 500 { break }
                    waiting = try await Self.waitingForLocks(client)
                }
                #expect(waiting == 0, "the renewal waits for the locked row")
                return running
            }.get()
            #expect(lost.isEmpty, "a locked reminder is not lost")
            #expect(try await leaseLeft(low) > 500)
            #expect(try await leaseLeft(high) < 70)
            #expect(try await dispatch.renew(leases, lease: .seconds(600)).isEmpty)
            #expect(try await leaseLeft(high) > 500)
            // One recorded: no longer this sender's to renew.
            let report = try await dispatch.complete([
                DispatchStore.Completion(
                    id: low, attempt: 1, result: .delivered, progress: ChannelProgress(channelCount: 1),
                    errorClass: nil, channelAttempts: [])
            ])
            #expect(report.notRecorded.isEmpty)
            #expect(try await dispatch.renew(leases, lease: .seconds(600)) == [low])
        }
    }

    /// Claims the two reminders and no other (the others fall due tomorrow).
    private static func claimOnly(_ low: Int64, _ high: Int64, _ client: PostgresClient) async throws
        -> [DispatchStore.Claimed]
    {
        try await client.query(
            "UPDATE reminders SET due_at = now() + interval '1 day' WHERE id NOT IN (\(low), \(high))",
            logger: TestDatabase.logger)
        let claimed = try await DispatchStore(client: client, logger: TestDatabase.logger).claim(
            limit: 10, lease: .seconds(60))
        try #require(Set(claimed.map(\.id)) == [low, high])
        return claimed
    }

    /// Runs `body` while another connection's transaction holds the row locked, and awaits
    /// the task it returns once the transaction has ended.
    private static func withRowLocked<T: Sendable>(
        _ id: Int64, _ configuration: DatabaseConfiguration,
        _ body: () async throws -> Task<T, any Error>
    ) async throws -> Result<T, any Error> {
        let running = try await TestDatabase.withClient(configuration) { other in
            try await other.withConnection { blocker in
                try await blocker.query("BEGIN", logger: TestDatabase.logger)
                try await blocker.query(
                    "SELECT id FROM reminders WHERE id = \(id) FOR UPDATE", logger: TestDatabase.logger)
                let running = try await body()
                try await blocker.query("COMMIT", logger: TestDatabase.logger)
                return running
            }
        }
        return await running.result
    }

    /// Statements of this database waiting for a lock.
    private static func waitingForLocks(_ client: PostgresClient) async throws -> Int {
        try await TestDatabase.count(
            client,
            """
            SELECT count(*)::int8 FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'
            """)
    }
}
