import Foundation
import PostgresNIO
import TestSupport
import Testing

@testable import ReminderStore

/// The statements prepared once per connection: names that cannot clash, and the plan
/// PostgreSQL keeps for them.
@Suite(.timeLimit(.minutes(3)))
struct PreparedStatementTests {
    static var statements: [any PreparedSQL.Type] {
        [
            ClaimStatement.self, NextDueStatement.self, CompletionStatement.self, UnpublishedStatement.self,
            MarkPublishedStatement.self, DeletePublishedStatement.self,
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
                        Prepared<ClaimStatement>(bindings: claim), logger: TestDatabase.logger)
                    {}
                    var read = PostgresBindings()
                    read.append(Int64(500))
                    for try await _ in try await connection.execute(
                        Prepared<UnpublishedStatement>(bindings: read), logger: TestDatabase.logger)
                    {}
                }
                let rows = try await connection.query(
                    """
                    SELECT name, generic_plans, custom_plans FROM pg_prepared_statements
                    WHERE name IN (\(ClaimStatement.name), \(UnpublishedStatement.name)) ORDER BY name
                    """, logger: TestDatabase.logger)
                var plans: [String: (generic: Int, custom: Int)] = [:]
                for try await (name, generic, custom) in rows.decode((String, Int, Int).self) {
                    plans[name] = (generic, custom)
                }
                for name in [ClaimStatement.name, UnpublishedStatement.name] {
                    let plan = try #require(plans[name], "\(name) is not prepared on the connection")
                    #expect(plan.generic + plan.custom == 8, "\(name)")
                    #expect(plan.custom <= 5 && plan.generic >= 3, "\(name): \(plan)")
                }
            }
        }
    }
}
