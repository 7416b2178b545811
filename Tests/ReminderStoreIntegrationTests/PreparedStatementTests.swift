import Foundation
import PostgresNIO
import ReminderCore
import TestSupport
import Testing

@testable import ReminderStore

/// The statements prepared once per connection: names that cannot clash, and the plan
/// PostgreSQL keeps for them.
@Suite(.timeLimit(.minutes(3)))
struct PreparedStatementTests {
    static var statements: [any PreparedSQL.Type] {
        [
            DispatchStore.ClaimStatement.self, DispatchStore.NextDueStatement.self,
            DispatchStore.CompletionStatement.self, StatusEventStore.UnpublishedStatement.self,
            StatusEventStore.MarkPublishedStatement.self, StatusEventStore.DeletePublishedStatement.self,
            OutboxLeaseStore.AskStatement.self, OutboxLeaseStore.ReleaseStatement.self,
        ]
    }

    @Test func eachStatementHasANameOfItsOwnMadeFromItsTextWithinPostgreSQLsLimit() {
        let names = Self.statements.map { $0.name }
        #expect(Set(names).count == Self.statements.count)
        for (statement, name) in zip(Self.statements, names) {
            #expect(name == preparedName(statement.sql))
            #expect(name.utf8.count <= 63, "\(statement)")
            #expect(name.hasPrefix("ns_") && name.dropFirst(3).allSatisfy(\.isHexDigit), "\(name)")
        }
        #expect(preparedName("SELECT 1") != preparedName("SELECT 2"))
    }

    /// Planning was the cost this saves: after its first executions on a connection the
    /// claim and the relay's read run on one generic plan, not planned again for each call.
    @Test func theClaimAndTheRelaysReadArePreparedOnceAndThenRunOnAGenericPlan() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await client.withConnection { connection in
                for _ in 0..<8 {
                    var claim = PostgresBindings()
                    claim.append(Int64(50))
                    claim.append(Int64(60_000))
                    claim.append(true)
                    for try await _ in try await connection.execute(
                        Prepared<DispatchStore.ClaimStatement>(bindings: claim), logger: TestDatabase.logger)
                    {}
                    var read = PostgresBindings()
                    read.append(Int64(500))
                    read.append(Int64(0))
                    for try await _ in try await connection.execute(
                        Prepared<StatusEventStore.UnpublishedStatement>(bindings: read), logger: TestDatabase.logger)
                    {}
                }
                let rows = try await connection.query(
                    """
                    SELECT name, generic_plans, custom_plans FROM pg_prepared_statements
                    WHERE name IN (\(DispatchStore.ClaimStatement.name), \(StatusEventStore.UnpublishedStatement.name)) ORDER BY name
                    """, logger: TestDatabase.logger)
                var plans: [String: (generic: Int, custom: Int)] = [:]
                for try await (name, generic, custom) in rows.decode((String, Int, Int).self) {
                    plans[name] = (generic, custom)
                }
                for name in [DispatchStore.ClaimStatement.name, StatusEventStore.UnpublishedStatement.name] {
                    let plan = try #require(plans[name], "\(name) is not prepared on the connection")
                    #expect(plan.generic + plan.custom == 8, "\(name)")
                    #expect(plan.custom <= 5 && plan.generic >= 3, "\(name): \(plan)")
                }
            }
        }
    }

    /// PostgresNIO keeps a statement whose preparation failed as failed for the life of the
    /// connection: the store closes a connection on which a statement failed, and the next
    /// call prepares it on a new one. One connection in the pool, so that the second call
    /// cannot simply land on another.
    @Test func aStatementPreparedBeforeTheTablesExistedWorksOnceTheyDo() async throws {
        try await TestDatabase.withDatabase(migrated: false) { _, configuration in
            var single = configuration
            single.maximumConnections = 1
            try await TestDatabase.withClient(single) { client in
                let store = DispatchStore(client: client, logger: TestDatabase.logger)
                let error = await #expect(throws: StoreError.self) { try await store.nextDueTime() }
                #expect(error.map { "\($0)".contains("reminders") } == true)
                try await TestDatabase.withClient(configuration) { other in
                    try await Migrator(directory: TestDatabase.migrations).migrate(other, logger: TestDatabase.logger)
                }
                #expect(try await store.nextDueTime() == nil)
                #expect(try await store.claim(limit: 10, lease: .seconds(60), takingOver: true).isEmpty)
            }
        }
    }
}
