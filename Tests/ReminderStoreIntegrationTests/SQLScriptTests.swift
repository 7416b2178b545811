import TestSupport
import Testing

@testable import ReminderStore

@Suite struct SQLScriptTests {
    @Test func splitsOnSemicolonsOutsideQuotesCommentsAndDollarBodies() {
        let script = """
            -- a comment; not a split
            CREATE TABLE a (t text DEFAULT 'x;y''z');
            /* block; comment */ CREATE INDEX "odd;name" ON a (t);
            CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
            DO $$ BEGIN PERFORM 1; END $$;

            """
        #expect(
            SQLScript.statements(script) == [
                "CREATE TABLE a (t text DEFAULT 'x;y''z')",
                "CREATE INDEX \"odd;name\" ON a (t)",
                "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql",
                "DO $$ BEGIN PERFORM 1; END $$",
            ])
    }

    @Test func theFirstMigrationSplitsIntoItsStatements() throws {
        let sql = try String(
            contentsOf: TestDatabase.migrations.appendingPathComponent("0001_initial.sql"), encoding: .utf8)
        let statements = SQLScript.statements(sql)
        #expect(statements.count == 13)
        #expect(statements.allSatisfy { $0.hasPrefix("CREATE") })
    }
}
